using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molmo.Eval.Reporting;

/// <summary>One published number. <see cref="Metric"/> is "overall" for a benchmark's main score, or a sub-score name.
/// <see cref="Source"/> names where it was taken from when that is not the paper transcription of the project notes.</summary>
public sealed record PaperResult(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("benchmark")] string Benchmark,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("note")] string? Note,
    [property: JsonPropertyName("source")] string? Source = null)
{
    /// <summary>The paper table it comes from (filled by the loader).</summary>
    [JsonIgnore] public string Table { get; init; } = "";
}

/// <summary>One paper table; <see cref="Missing"/> says which of its numbers are deliberately absent.</summary>
public sealed record PaperTable(
    [property: JsonPropertyName("table")] string Table,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("complete")] bool Complete,
    [property: JsonPropertyName("missing")] string? Missing,
    [property: JsonPropertyName("results")] IReadOnlyList<PaperResult> Results);

/// <summary>The published Molmo numbers shipped with the library (embedded <c>Data/paper-results.json</c>).</summary>
public sealed record PaperResults(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("provenance")] string Provenance,
    [property: JsonPropertyName("tables")] IReadOnlyList<PaperTable> Tables)
{
    /// <summary>Every number, each tagged with its table.</summary>
    public IEnumerable<PaperResult> All => Tables.SelectMany(t => t.Results.Select(r => r with { Table = t.Table }));

    /// <summary>The published numbers for a benchmark (e.g. "clock_bench"), optionally one metric only.</summary>
    public IReadOnlyList<PaperResult> For(string benchmark, string? metric = null) =>
        All.Where(r => r.Benchmark == benchmark && (metric == null || r.Metric == metric)).ToList();

    static readonly Lazy<PaperResults> _embedded = new(() =>
    {
        var asm = typeof(PaperResults).Assembly;
        var name = asm.GetManifestResourceNames().Single(n => n.EndsWith("paper-results.json", StringComparison.Ordinal));
        using var s = asm.GetManifestResourceStream(name)!;
        return Parse(s);
    });

    /// <summary>The embedded file.</summary>
    public static PaperResults Load() => _embedded.Value;

    public static PaperResults Parse(Stream json) =>
        JsonSerializer.Deserialize<PaperResults>(json) ?? throw new InvalidDataException("paper results file is empty");
}
