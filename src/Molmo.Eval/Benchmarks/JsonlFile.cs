using System.Text.Json;

namespace Molmo.Eval.Benchmarks;

/// <summary>Reads JSON Lines files: one JSON object per line, blank lines ignored.</summary>
public static class JsonlFile
{
    /// <summary>Yields (1-based line number, object) for each non-blank line.</summary>
    /// <exception cref="InvalidDataException">a line that is not a JSON object (the message names file and line).</exception>
    public static IEnumerable<(int Line, JsonElement Value)> ReadObjects(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {path}", path);
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonElement e;
            try { e = JsonDocument.Parse(line).RootElement; }
            catch (JsonException ex) { throw new InvalidDataException($"{path}:{lineNo}: not valid JSON ({ex.Message})", ex); }
            if (e.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}:{lineNo}: expected a JSON object, got {e.ValueKind}");
            yield return (lineNo, e);
        }
    }

    /// <summary>An id field as a string: JSON strings as they are, numbers in their JSON spelling.</summary>
    public static string ReadId(JsonElement obj, string where)
    {
        if (!obj.TryGetProperty("id", out var id)) throw new InvalidDataException($"{where}: missing \"id\"");
        return id.ValueKind switch
        {
            JsonValueKind.String => id.GetString()!,
            JsonValueKind.Number => id.GetRawText(),
            _ => throw new InvalidDataException($"{where}: \"id\" must be a string or a number, got {id.ValueKind}"),
        };
    }

    /// <summary>A scalar as text: strings as they are, numbers in their JSON spelling, booleans as "true"/"false".</summary>
    public static string ScalarText(JsonElement e, string where, string field) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Number => e.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new InvalidDataException($"{where}: \"{field}\" must be a string or a number, got {e.ValueKind}"),
    };
}
