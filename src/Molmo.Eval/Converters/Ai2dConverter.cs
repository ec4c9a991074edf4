using System.Globalization;
using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// AI2D: the <c>lmms-lab/ai2d</c> Parquet (question, options list, answer = 0-based index of the right option, image).
/// The answer is written as the option text; ids are "{file}-{row}". Letter-label questions (all options single letters)
/// are evaluated in no-letter mode by the ai2d task. The transparent/opaque letter boxes of Molmo's own AI2D build are
/// not drawn: the images are used as the Parquet gives them.
/// </summary>
public static class Ai2dConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        var items = new List<BenchmarkItem>();
        foreach (var input in r.Inputs)
        {
            int n = 0;
            foreach (var row in ParquetRows.Read(input))
            {
                var id = $"{Path.GetFileNameWithoutExtension(input)}-{n++}";
                var options = ParquetRows.TextList(row, "options") ?? throw new InvalidDataException($"{input} row {n}: no \"options\"");
                var answer = ParquetRows.Text(row, "answer") ?? throw new InvalidDataException($"{input} row {n}: no \"answer\"");
                string answerText = int.TryParse(answer, NumberStyles.Integer, CultureInfo.InvariantCulture, out var idx) && idx >= 0 && idx < options.Count
                    ? options[idx]
                    : options.FirstOrDefault(o => string.Equals(o.Trim(), answer.Trim(), StringComparison.OrdinalIgnoreCase))
                      ?? throw new InvalidDataException($"{input} row {n}: answer '{answer}' is neither an option index nor an option");
                items.Add(BenchmarkConverters.FromRow(r, row, id, "image", ParquetRows.Text(row, "question"), []) with
                {
                    Options = options, Answer = answerText,
                });
            }
        }
        return BenchmarkConverters.Finish(r, items, 0, []);
    }
}
