using System.Text.Json;

namespace Molmo.Eval.Benchmarks;

/// <summary>
/// Loads a benchmark in the local format: JSON Lines (one object per line) or Parquet with the same column names
/// (image as bytes, a path, or a Hugging Face {bytes, path} struct; answers/options as lists; points as a JSON string or
/// a list of {x, y}). See docs/evaluation.md.
/// </summary>
public static class BenchmarkReader
{
    public static IReadOnlyList<BenchmarkItem> Read(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"benchmark file not found: {full}", full);
        var baseDir = Path.GetDirectoryName(full)!;
        var items = full.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)
            ? ReadParquet(full, baseDir)
            : JsonlFile.ReadObjects(full).Select(t => BenchmarkJson.Parse(t.Value, baseDir, $"{full}:{t.Line}")).ToList();
        CheckUniqueIds(items, full);
        return items;
    }

    static List<BenchmarkItem> ReadParquet(string path, string baseDir)
    {
        var rows = ParquetRows.Read(path);
        var list = new List<BenchmarkItem>(rows.Count);
        int r = 0;
        foreach (var row in rows)
        {
            r++;
            // Turn the row into the JSON object of the JSONL format, so both share one parser.
            var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (var (key, value) in row)
                {
                    if (value == null) continue;
                    if (key is "image" or "image_bytes")
                    {
                        var (bytes, p) = ParquetRows.Image(row, key);
                        if (bytes != null) w.WriteBase64String("image_bytes", bytes);
                        else if (p != null) w.WriteString("image", p);
                        continue;
                    }
                    w.WritePropertyName(key);
                    WriteValue(w, value, key);
                }
                w.WriteEndObject();
            }
            var doc = JsonDocument.Parse(buffer.ToArray()).RootElement;
            list.Add(BenchmarkJson.Parse(doc, baseDir, $"{path} row {r}"));
        }
        return list;
    }

    static void WriteValue(Utf8JsonWriter w, object? v, string key)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s when key is "points" or "masks" && s.TrimStart().StartsWith('['):
                using (var d = JsonDocument.Parse(s)) d.RootElement.WriteTo(w);
                break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case byte[] bytes: w.WriteBase64StringValue(bytes); break;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                w.WriteNumberValue(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case float or double or decimal:
                w.WriteNumberValue(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture)); break;
            case IDictionary<string, object?> d:
                w.WriteStartObject();
                foreach (var (k, x) in d) { w.WritePropertyName(k); WriteValue(w, x, k); }
                w.WriteEndObject();
                break;
            case System.Collections.IDictionary nd:
                w.WriteStartObject();
                foreach (System.Collections.DictionaryEntry e in nd) { w.WritePropertyName(e.Key.ToString()!); WriteValue(w, e.Value, e.Key.ToString()!); }
                w.WriteEndObject();
                break;
            case System.Collections.IEnumerable e:
                w.WriteStartArray();
                foreach (var x in e) WriteValue(w, x, "");
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }

    static void CheckUniqueIds(IReadOnlyList<BenchmarkItem> items, string path)
    {
        var dup = items.GroupBy(i => i.Id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(10).ToList();
        if (dup.Count > 0) throw new InvalidDataException($"{path}: duplicate ids: {string.Join(", ", dup)}");
    }
}
