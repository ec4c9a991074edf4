using System.Text.Json;
using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// CountBenchQA: the <c>nielsr/countbench</c> Parquet (image_url, text, number, image) zipped by row with big_vision's
/// <c>countbench_paired_questions.json</c> (--questions: a list of question strings, or of objects with a "question"
/// field, one per Parquet row). Rows without image bytes are dropped, as in Molmo. Ids are the row numbers.
/// </summary>
public static class CountBenchQaConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        if (r.Inputs.Count != 1) throw new ArgumentException("countbenchqa takes one --input (the countbench Parquet)");
        if (r.Questions == null) throw new ArgumentException("countbenchqa needs --questions (countbench_paired_questions.json)");
        var questions = ConverterIo.Records(ConverterIo.ReadJson(r.Questions), r.Questions, "questions", "data").Select(q =>
            q.ValueKind == JsonValueKind.String ? q.GetString()! : ConverterIo.Str(q, "question", r.Questions)).ToList();
        var rows = ParquetRows.Read(r.Inputs[0]);
        if (rows.Count != questions.Count)
            throw new InvalidDataException($"{r.Inputs[0]} has {rows.Count} rows but {r.Questions} has {questions.Count} questions; they are matched by position");
        var items = new List<BenchmarkItem>();
        int skipped = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var (bytes, _) = ParquetRows.Image(rows[i], "image");
            if (bytes == null) { skipped++; continue; }
            var number = ParquetRows.Integer(rows[i], "number") ?? throw new InvalidDataException($"{r.Inputs[0]} row {i}: no \"number\"");
            var id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            items.Add(new BenchmarkItem
            {
                Id = id, Question = questions[i], ImagePath = ConverterIo.SaveImage(bytes, r.OutputPath, id),
                Answer = number.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        var notes = skipped > 0 ? new List<string> { $"{skipped} row(s) without image bytes dropped" } : [];
        return BenchmarkConverters.Finish(r, items, skipped, notes);
    }
}
