using System.Text.Json;
using Molmo.Eval.Scoring;

namespace Molmo.Eval.Benchmarks;

/// <summary>Converts between <see cref="BenchmarkItem"/> and one JSON object of the local benchmark / references format.</summary>
public static class BenchmarkJson
{
    /// <summary>
    /// Reads one object. Fields: id, question, image (path, relative to <paramref name="baseDir"/>), image_bytes (base64),
    /// answers, answer, options, option_names, label, points [{x, y}] in percent, width, height, masks, subset.
    /// </summary>
    public static BenchmarkItem Parse(JsonElement o, string baseDir, string where)
    {
        var id = JsonlFile.ReadId(o, where);
        where = $"{where} (id {id})";
        string? Str(string name) => o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? JsonlFile.ScalarText(v, where, name) : null;
        IReadOnlyList<string>? StrList(string name)
        {
            if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: \"{name}\" must be a list");
            return v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("answer", out var a)
                ? JsonlFile.ScalarText(a, where, name) // VQA-style [{"answer": ...}] entries
                : JsonlFile.ScalarText(x, where, name)).ToArray();
        }
        int? Int(string name)
        {
            if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i))
                throw new InvalidDataException($"{where}: \"{name}\" must be an integer, got {v.GetRawText()}");
            return i;
        }

        string? imagePath = Str("image") ?? Str("image_path");
        byte[]? bytes = null;
        var b64 = Str("image_bytes");
        if (b64 != null)
        {
            try { bytes = Convert.FromBase64String(b64); }
            catch (FormatException) { throw new InvalidDataException($"{where}: \"image_bytes\" is not valid base64"); }
        }

        List<PercentPoint>? points = null;
        if (o.TryGetProperty("points", out var pts) && pts.ValueKind != JsonValueKind.Null)
        {
            if (pts.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: \"points\" must be a list of {{\"x\", \"y\"}}");
            points = [];
            foreach (var p in pts.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("x", out var x) || !p.TryGetProperty("y", out var y)
                    || x.ValueKind != JsonValueKind.Number || y.ValueKind != JsonValueKind.Number)
                    throw new InvalidDataException($"{where}: each point must be {{\"x\": number, \"y\": number}} in percent (0–100)");
                points.Add(new PercentPoint(x.GetDouble(), y.GetDouble()));
            }
        }

        List<MaskReference>? masks = null;
        if (o.TryGetProperty("masks", out var ms) && ms.ValueKind != JsonValueKind.Null)
        {
            if (ms.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where}: \"masks\" must be a list");
            masks = [];
            int k = 0;
            foreach (var m in ms.EnumerateArray()) masks.Add(MaskReference.Parse(m, baseDir, $"{where} mask {k++}"));
        }

        return new BenchmarkItem
        {
            Id = id,
            Question = Str("question"),
            ImagePath = imagePath == null ? null : Path.GetFullPath(Path.Combine(baseDir, imagePath)),
            ImageBytes = bytes,
            Answers = StrList("answers") ?? [],
            Answer = Str("answer"),
            Options = StrList("options") ?? [],
            OptionNames = StrList("option_names"),
            Label = Str("label"),
            Points = points,
            Width = Int("width"),
            Height = Int("height"),
            Masks = masks,
            Subset = Str("subset"),
        };
    }

    /// <summary>
    /// Writes one object in the local format. Image paths are written relative to <paramref name="baseDir"/> when they lie
    /// below it; inline images become base64 "image_bytes". Masks are written as paths, so only file masks can be written.
    /// </summary>
    public static void Write(Utf8JsonWriter w, BenchmarkItem item, string baseDir)
    {
        w.WriteStartObject();
        w.WriteString("id", item.Id);
        if (item.Question != null) w.WriteString("question", item.Question);
        if (item.ImagePath != null)
        {
            var rel = Path.GetRelativePath(baseDir, item.ImagePath);
            w.WriteString("image", rel.StartsWith("..", StringComparison.Ordinal) ? item.ImagePath : rel);
        }
        if (item.ImageBytes != null) w.WriteBase64String("image_bytes", item.ImageBytes);
        if (item.Answers.Count > 0) { w.WriteStartArray("answers"); foreach (var a in item.Answers) w.WriteStringValue(a); w.WriteEndArray(); }
        if (item.Answer != null) w.WriteString("answer", item.Answer);
        if (item.Options.Count > 0) { w.WriteStartArray("options"); foreach (var a in item.Options) w.WriteStringValue(a); w.WriteEndArray(); }
        if (item.OptionNames != null) { w.WriteStartArray("option_names"); foreach (var a in item.OptionNames) w.WriteStringValue(a); w.WriteEndArray(); }
        if (item.Label != null) w.WriteString("label", item.Label);
        if (item.Points != null)
        {
            w.WriteStartArray("points");
            foreach (var p in item.Points) { w.WriteStartObject(); w.WriteNumber("x", p.X); w.WriteNumber("y", p.Y); w.WriteEndObject(); }
            w.WriteEndArray();
        }
        if (item.Masks != null)
        {
            if (item.Masks.Any(m => m.FilePath == null))
                throw new NotSupportedException($"item {item.Id}: only masks stored as image files can be written to the local format");
            w.WriteStartArray("masks");
            foreach (var m in item.Masks)
            {
                var rel = Path.GetRelativePath(baseDir, m.FilePath!);
                w.WriteStringValue(rel.StartsWith("..", StringComparison.Ordinal) ? m.FilePath : rel);
            }
            w.WriteEndArray();
        }
        if (item.Width != null) w.WriteNumber("width", item.Width.Value);
        if (item.Height != null) w.WriteNumber("height", item.Height.Value);
        if (item.Subset != null) w.WriteString("subset", item.Subset);
        w.WriteEndObject();
    }

    /// <summary>Writes items as JSON Lines to <paramref name="path"/> (image paths relative to its folder).</summary>
    public static void WriteJsonl(string path, IEnumerable<BenchmarkItem> items)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        using var fs = File.Create(full);
        var opts = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var item in items)
        {
            using (var w = new Utf8JsonWriter(fs, opts)) Write(w, item, dir);
            fs.WriteByte((byte)'\n');
        }
    }
}
