namespace Molmo.Eval.Converters;

/// <summary>
/// Inputs of a benchmark converter. <see cref="Inputs"/> are the public data files (JSON or Parquet, depending on the
/// format); <see cref="ImagesDir"/> is where the images of JSON-based formats live; <see cref="Annotations"/> is the VQA v2
/// annotation file; <see cref="Questions"/> the CountBenchQA questions file. <see cref="OutputPath"/> is the JSONL file
/// to write; images that come as bytes are written to a folder beside it.
/// </summary>
public sealed record ConvertRequest
{
    public required IReadOnlyList<string> Inputs { get; init; }
    public string? ImagesDir { get; init; }
    public string? Annotations { get; init; }
    public string? Questions { get; init; }
    public required string OutputPath { get; init; }
}

/// <summary>What a converter produced: the items (already written to the output), how many rows it skipped, and why.</summary>
public sealed record ConversionResult(string OutputPath, IReadOnlyList<Benchmarks.BenchmarkItem> Items, int Skipped, IReadOnlyList<string> Notes);
