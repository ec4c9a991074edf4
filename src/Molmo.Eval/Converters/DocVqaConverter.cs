using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// DocVQA and InfographicVQA: the RRC JSON (<c>{"data": [{questionId, question, answers, image | image_local_name}]}</c>)
/// with --images, or Hugging Face Parquet (<c>HuggingFaceM4/DocumentVQA</c>: questionId, question, answers, image).
/// </summary>
public static class DocVqaConverter
{
    public static ConversionResult Convert(ConvertRequest r, string format)
    {
        var items = new List<BenchmarkItem>();
        foreach (var input in r.Inputs)
        {
            if (input.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                foreach (var row in ParquetRows.Read(input))
                {
                    var id = ParquetRows.Text(row, "questionId") ?? ParquetRows.Text(row, "question_id")
                             ?? throw new InvalidDataException($"{input}: a row has no questionId");
                    items.Add(BenchmarkConverters.FromRow(r, row, id, "image", ParquetRows.Text(row, "question"),
                        ParquetRows.TextList(row, "answers") ?? []));
                }
            else
            {
                var images = ConverterIo.NeedDir(r.ImagesDir, format);
                foreach (var o in ConverterIo.Records(ConverterIo.ReadJson(input), input, "data"))
                {
                    var id = ConverterIo.Str(o, "questionId", input);
                    var rel = ConverterIo.OptStr(o, "image_local_name") ?? ConverterIo.Str(o, "image", input);
                    var path = File.Exists(Path.Combine(images, rel)) ? Path.Combine(images, rel) : Path.Combine(images, Path.GetFileName(rel));
                    items.Add(new BenchmarkItem
                    {
                        Id = id, Question = ConverterIo.Str(o, "question", input),
                        ImagePath = ConverterIo.ImageIn(images, path, $"{input} question {id}"),
                        Answers = ConverterIo.StrList(o, "answers"),
                    });
                }
            }
        }
        return BenchmarkConverters.Finish(r, items, 0, []);
    }
}
