using System.Text.Json;

namespace Molmo.Eval.Converters;

/// <summary>File helpers shared by the converters.</summary>
internal static class ConverterIo
{
    public static JsonElement ReadJson(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"input file not found: {path}", path);
        try { return JsonDocument.Parse(File.ReadAllBytes(path)).RootElement; }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
    }

    /// <summary>The array under <paramref name="property"/> (or the root when it is an array).</summary>
    public static IEnumerable<JsonElement> Records(JsonElement root, string path, params string[] properties)
    {
        if (root.ValueKind == JsonValueKind.Array) return root.EnumerateArray();
        foreach (var p in properties)
            if (root.TryGetProperty(p, out var a) && a.ValueKind == JsonValueKind.Array) return a.EnumerateArray();
        throw new InvalidDataException($"{path}: expected a JSON array or an object with {string.Join(" or ", properties.Select(p => $"\"{p}\""))}");
    }

    public static string Str(JsonElement o, string name, string where)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) throw new InvalidDataException($"{where}: missing \"{name}\"");
        return Benchmarks.JsonlFile.ScalarText(v, where, name);
    }

    public static string? OptStr(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? Benchmarks.JsonlFile.ScalarText(v, "", name) : null;

    public static IReadOnlyList<string> StrList(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Object && x.TryGetProperty("answer", out var a)
                ? Benchmarks.JsonlFile.ScalarText(a, "", name) : Benchmarks.JsonlFile.ScalarText(x, "", name)).ToArray()
            : [];

    public static string NeedDir(string? dir, string format)
    {
        if (dir == null) throw new ArgumentException($"format {format} needs --images (the folder holding the benchmark's images)");
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"images folder not found: {dir}");
        return Path.GetFullPath(dir);
    }

    /// <summary>Writes image bytes into the images folder beside the output file and returns the file's path.</summary>
    public static string SaveImage(byte[] bytes, string outputPath, string id)
    {
        var dir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!,
            Path.GetFileNameWithoutExtension(outputPath) + "_images");
        Directory.CreateDirectory(dir);
        var safe = string.Concat(id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
        var path = Path.Combine(dir, safe + Extension(bytes));
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static string Extension(byte[] b) =>
        b.Length >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' ? ".png"
        : b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? ".jpg"
        : b.Length >= 4 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' ? ".gif"
        : b.Length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' ? ".webp"
        : b.Length >= 2 && b[0] == 'B' && b[1] == 'M' ? ".bmp"
        : ".img";

    /// <summary>An image path inside <paramref name="imagesDir"/>; throws when the file is not there.</summary>
    public static string ImageIn(string imagesDir, string relative, string where)
    {
        var p = Path.GetFullPath(Path.Combine(imagesDir, relative));
        if (!File.Exists(p)) throw new FileNotFoundException($"{where}: image not found: {p}", p);
        return p;
    }
}
