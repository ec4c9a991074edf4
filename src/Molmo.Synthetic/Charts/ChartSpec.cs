using System.Globalization;

namespace Molmo.Synthetic.Charts;

public enum ChartKind { Bar, HorizontalBar, GroupedBar, Line, Pie, Scatter }

/// <summary>A named list of values, one per category (or per scatter point).</summary>
public sealed record ChartSeries(string Name, double[] Values);

/// <summary>One scatter point of a series.</summary>
public sealed record ScatterPoint(string Series, double X, double Y);

/// <summary>
/// Everything a chart is drawn from. Values carry <see cref="Decimals"/> decimals and are printed on the chart exactly as
/// <see cref="Format"/> prints them, so every answer is readable from the image. Pie values are integer percentages summing to 100.
/// </summary>
public sealed record ChartSpec
{
    public required ChartKind Kind { get; init; }
    public required string Title { get; init; }
    /// <summary>What one category is ("fruit", "month").</summary>
    public required string CategoryNoun { get; init; }
    public required string XLabel { get; init; }
    public required string YLabel { get; init; }
    public string[] Categories { get; init; } = [];
    public ChartSeries[] Series { get; init; } = [];
    public ScatterPoint[] Points { get; init; } = [];
    public int Decimals { get; init; }

    public string Format(double v) => Kind == ChartKind.Pie
        ? v.ToString("0", CultureInfo.InvariantCulture) + "%"
        : v.ToString(Decimals == 0 ? "0" : "0.0", CultureInfo.InvariantCulture);

    public string FigureType => Kind switch
    {
        ChartKind.HorizontalBar => "horizontal_bar",
        ChartKind.GroupedBar => "grouped_bar",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
