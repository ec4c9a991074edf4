using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>Converters from the public benchmark formats to the local JSONL format, by name.</summary>
public static class BenchmarkConverters
{
    static readonly (string Name, string Help, Func<ConvertRequest, ConversionResult> Run)[] Table =
    [
        ("vqav2", "--input questions.json [--annotations annotations.json] --images COCO_DIR", VqaV2Converter.Convert),
        ("textvqa", "--input TextVQA_0.5.1_val.json --images DIR, or --input textvqa.parquet", TextVqaConverter.Convert),
        ("docvqa", "--input val_v1.0.json --images DIR, or --input DocumentVQA.parquet", r => DocVqaConverter.Convert(r, "docvqa")),
        ("infovqa", "--input infographicsVQA_val_v1.0.json --images DIR (or Parquet)", r => DocVqaConverter.Convert(r, "infovqa")),
        ("chartqa", "--input test_human.json --input test_augmented.json --images png/, or --input ChartQA.parquet", ChartQaConverter.Convert),
        ("ai2d", "--input ai2d.parquet (lmms-lab)", Ai2dConverter.Convert),
        ("countbenchqa", "--input countbench.parquet --questions countbench_paired_questions.json", CountBenchQaConverter.Convert),
        ("pixmo_count", "--input pixmo-count-test.parquet --images DIR (images named by sha256)", PixMoCountConverter.Convert),
        ("pixmo_points_eval", "--input pixmo-points-eval.parquet --images DIR (images named by sha256)", PixMoPointsEvalConverter.Convert),
    ];

    public static IReadOnlyList<(string Name, string Help)> Formats { get; } = Table.Select(t => (t.Name, t.Help)).ToArray();

    /// <summary>Converts and writes <see cref="ConvertRequest.OutputPath"/>.</summary>
    /// <exception cref="ArgumentException">unknown format or missing inputs.</exception>
    public static ConversionResult Convert(string format, ConvertRequest request)
    {
        var entry = Table.FirstOrDefault(t => string.Equals(t.Name, format?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (entry.Run == null) throw new ArgumentException($"unknown format '{format}'; expected one of: {string.Join(", ", Table.Select(t => t.Name))}");
        if (request.Inputs.Count == 0) throw new ArgumentException($"format {entry.Name} needs at least one --input: {entry.Help}");
        foreach (var i in request.Inputs) if (!File.Exists(i)) throw new FileNotFoundException($"input file not found: {i}", i);
        return entry.Run(request);
    }

    /// <summary>An item from a Parquet row whose image column holds bytes (written beside the output) or a path.</summary>
    internal static BenchmarkItem FromRow(ConvertRequest r, IDictionary<string, object?> row, string id, string imageColumn,
        string? question, IReadOnlyList<string> answers)
    {
        var (bytes, path) = ParquetRows.Image(row, imageColumn);
        string? imagePath = bytes != null ? ConverterIo.SaveImage(bytes, r.OutputPath, id)
            : path != null && r.ImagesDir != null ? Path.GetFullPath(Path.Combine(r.ImagesDir, path))
            : throw new InvalidDataException($"row {id}: column '{imageColumn}' has no image bytes" +
                                             (path != null ? $" (only a path '{path}'; pass --images to resolve it)" : ""));
        return new BenchmarkItem { Id = id, Question = question, ImagePath = imagePath, Answers = answers };
    }

    internal static ConversionResult Finish(ConvertRequest r, List<BenchmarkItem> items, int skipped, IReadOnlyList<string> notes)
    {
        var dup = items.GroupBy(i => i.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new InvalidDataException($"two items share the id '{dup.Key}'; convert the inputs separately");
        BenchmarkJson.WriteJsonl(r.OutputPath, items);
        return new ConversionResult(Path.GetFullPath(r.OutputPath), items, skipped, notes);
    }
}
