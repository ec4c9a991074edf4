using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// TextVQA: the official JSON (<c>{"data": [{question_id, question, image_id, answers: [10]}]}</c>) with images at
/// <c>{image_id}.jpg</c> in --images, or the Hugging Face <c>facebook/textvqa</c> Parquet (question_id, question, image,
/// answers).
/// </summary>
public static class TextVqaConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        var items = new List<BenchmarkItem>();
        foreach (var input in r.Inputs)
        {
            if (input.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
                foreach (var row in ParquetRows.Read(input))
                {
                    var id = ParquetRows.Text(row, "question_id") ?? throw new InvalidDataException($"{input}: a row has no question_id");
                    items.Add(BenchmarkConverters.FromRow(r, row, id, "image", ParquetRows.Text(row, "question"),
                        ParquetRows.TextList(row, "answers") ?? []));
                }
            else
            {
                var images = ConverterIo.NeedDir(r.ImagesDir, "textvqa");
                foreach (var o in ConverterIo.Records(ConverterIo.ReadJson(input), input, "data"))
                {
                    var id = ConverterIo.Str(o, "question_id", input);
                    items.Add(new BenchmarkItem
                    {
                        Id = id, Question = ConverterIo.Str(o, "question", input),
                        ImagePath = ConverterIo.ImageIn(images, ConverterIo.Str(o, "image_id", input) + ".jpg", $"{input} question {id}"),
                        Answers = ConverterIo.StrList(o, "answers"),
                    });
                }
            }
        }
        return BenchmarkConverters.Finish(r, items, 0, []);
    }
}
