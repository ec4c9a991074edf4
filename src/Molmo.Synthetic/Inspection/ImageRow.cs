namespace Molmo.Synthetic.Inspection;

/// <summary>
/// One row of any Parquet file with an image-bytes column, reduced to what a person needs to check it: the image, the
/// question/answer pairs, the points (as stored, percent or pixels) and the other scalar columns as text.
/// </summary>
public sealed record ImageRow(int Index, byte[] ImageBytes, IReadOnlyList<(string Question, string Answer)> QuestionAnswers,
    IReadOnlyList<(double X, double Y)> Points, IReadOnlyList<(string Name, string Value)> Fields);
