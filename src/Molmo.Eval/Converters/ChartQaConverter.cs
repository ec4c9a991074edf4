using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// ChartQA: <c>test_human.json</c> and/or <c>test_augmented.json</c> (<c>[{imgname, query, label}]</c>) with the
/// <c>png/</c> folder as --images; the subset is taken from the file name. Or Hugging Face <c>HuggingFaceM4/ChartQA</c>
/// Parquet (image, query, label list, human_or_machine: 0 human, 1 augmented). Ids are "{subset}-{row}".
/// </summary>
public static class ChartQaConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        var items = new List<BenchmarkItem>();
        foreach (var input in r.Inputs)
        {
            if (input.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            {
                int n = 0;
                foreach (var row in ParquetRows.Read(input))
                {
                    var subset = ParquetRows.Integer(row, "human_or_machine") switch { 0 => "human", 1 => "augmented", _ => "unknown" };
                    var id = $"{subset}-{Path.GetFileNameWithoutExtension(input)}-{n++}";
                    items.Add(BenchmarkConverters.FromRow(r, row, id, "image", ParquetRows.Text(row, "query"),
                        ParquetRows.TextList(row, "label") ?? []) with { Subset = subset });
                }
            }
            else
            {
                var images = ConverterIo.NeedDir(r.ImagesDir, "chartqa");
                var name = Path.GetFileName(input).ToLowerInvariant();
                var subset = name.Contains("human") ? "human" : name.Contains("aug") ? "augmented" : Path.GetFileNameWithoutExtension(input);
                int n = 0;
                foreach (var o in ConverterIo.Records(ConverterIo.ReadJson(input), input, "data"))
                {
                    var id = $"{subset}-{n++}";
                    items.Add(new BenchmarkItem
                    {
                        Id = id, Question = ConverterIo.Str(o, "query", input),
                        ImagePath = ConverterIo.ImageIn(images, ConverterIo.Str(o, "imgname", input), $"{input} item {id}"),
                        Answers = [ConverterIo.Str(o, "label", input)], Subset = subset,
                    });
                }
            }
        }
        return BenchmarkConverters.Finish(r, items, 0, []);
    }
}
