namespace Molmo.Synthetic.Documents;

/// <summary>A data table: a title, column headers, and rows of cells (column 0 names the row; <see cref="NumericColumns"/> hold integers).</summary>
public sealed record TableSpec
{
    public required string Title { get; init; }
    public required string RowNoun { get; init; }
    public required string RowNounPlural { get; init; }
    public required string[] Columns { get; init; }
    public required string[][] Rows { get; init; }
    public required int[] NumericColumns { get; init; }
    /// <summary>A text column other than the first (or −1).</summary>
    public int TextColumn { get; init; } = -1;

    public double Number(int row, int col) => double.Parse(Rows[row][col], System.Globalization.CultureInfo.InvariantCulture);
}
