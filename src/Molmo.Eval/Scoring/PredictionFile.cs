namespace Molmo.Eval.Scoring;

/// <summary>Reads a predictions file: JSON Lines of <c>{"id", "prediction"}</c>.</summary>
public static class PredictionFile
{
    /// <exception cref="InvalidDataException">a line without an id or prediction, or a duplicate id.</exception>
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (line, o) in Benchmarks.JsonlFile.ReadObjects(path))
        {
            var where = $"{path}:{line}";
            var id = Benchmarks.JsonlFile.ReadId(o, where);
            if (!o.TryGetProperty("prediction", out var p)) throw new InvalidDataException($"{where}: missing \"prediction\"");
            var text = p.ValueKind == System.Text.Json.JsonValueKind.Null ? "" : Benchmarks.JsonlFile.ScalarText(p, where, "prediction");
            if (!result.TryAdd(id, text)) throw new InvalidDataException($"{where}: duplicate id {id}");
        }
        return result;
    }
}
