using System.Text;
using System.Text.Json;

namespace Molmo.Eval.Runner;

/// <summary>
/// The append-only file (<c>generations.jsonl</c>) that makes a run resumable: one <c>{"id", "prediction", "seconds"}</c>
/// line per generated item, flushed after each item. A line cut short by an interruption is dropped on the next load.
/// </summary>
public sealed class GenerationLog : IDisposable
{
    readonly StreamWriter _writer;

    /// <summary>Predictions already on disk, by id.</summary>
    public IReadOnlyDictionary<string, string> Existing { get; }

    GenerationLog(StreamWriter writer, Dictionary<string, string> existing) { _writer = writer; Existing = existing; }

    /// <summary>Opens (or creates) the log, reading what an earlier run left.</summary>
    /// <exception cref="InvalidDataException">a damaged line that is not the last one.</exception>
    public static GenerationLog Open(string path)
    {
        var existing = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            var lines = File.ReadAllLines(path);
            var good = new List<string>();
            for (int i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i])) continue;
                try
                {
                    using var doc = JsonDocument.Parse(lines[i]);
                    var id = doc.RootElement.GetProperty("id").GetString()!;
                    existing[id] = doc.RootElement.GetProperty("prediction").GetString() ?? "";
                    good.Add(lines[i]);
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    bool last = lines.Skip(i + 1).All(string.IsNullOrWhiteSpace);
                    if (!last) throw new InvalidDataException($"{path}:{i + 1}: damaged line in the generation log ({e.Message}); fix or delete it");
                }
            }
            if (good.Count != lines.Count(l => !string.IsNullOrWhiteSpace(l)))
                File.WriteAllLines(path, good); // drop the cut-off line so appends start on a clean line
            else if (lines.Length > 0 && !File.ReadAllText(path).EndsWith('\n'))
                File.AppendAllText(path, "\n");
        }
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        return new GenerationLog(writer, existing);
    }

    public void Append(string id, string prediction, double seconds)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("prediction", prediction);
            w.WriteNumber("seconds", Math.Round(seconds, 3));
            w.WriteEndObject();
        }
        _writer.Write(Encoding.UTF8.GetString(ms.ToArray()) + "\n");
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();
}
