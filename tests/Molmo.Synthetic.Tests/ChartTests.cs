using System.Globalization;
using System.Text.Json;
using Molmo.Synthetic.Charts;

namespace Molmo.Synthetic.Tests;

public class ChartTests
{
    static string F(ChartSpec c, double v) => c.Kind == ChartKind.Pie ? v.ToString("0", CultureInfo.InvariantCulture) + "%"
        : v.ToString(c.Decimals == 0 ? "0" : "0.0", CultureInfo.InvariantCulture);

    /// <summary>The single category named in the question (longest match, so "Store A" never matches inside another name).</summary>
    static int[] Named(string[] names, string q) =>
        Enumerable.Range(0, names.Length).Where(i => q.Contains(names[i], StringComparison.Ordinal)).ToArray();

    [Fact]
    public void EveryAnswerIsRecomputedFromTheChartData()
    {
        var kinds = new HashSet<ChartKind>();
        var types = new HashSet<string>();
        for (int i = 0; i < 150; i++)
        {
            var ex = ChartGenerator.Generate(4, i, 96);
            var c = ex.Spec;
            kinds.Add(c.Kind);
            // The data stored in the row is the data the questions were computed from.
            var back = JsonSerializer.Deserialize<ChartSpec>(ex.Row.DataJson, new JsonSerializerOptions { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } })!;
            Assert.Equal(c.Categories, back.Categories);
            Assert.Equal(c.Series.SelectMany(s => s.Values), back.Series.SelectMany(s => s.Values));
            Assert.Equal(ex.Questions.Count, ex.Row.Questions.Count);
            if (c.Kind == ChartKind.Pie) Assert.Equal(100, c.Series[0].Values.Sum());

            foreach (var q in ex.Questions)
            {
                types.Add(q.Type);
                Assert.Equal(Expected(c, q), q.Answer);
            }
        }
        Assert.Equal(Enum.GetValues<ChartKind>().Length, kinds.Count);
        foreach (var t in new[] { "read_value", "extremum", "difference", "count", "trend", "text_lookup", "compare", "sum" }) Assert.Contains(t, types);
    }

    static string Expected(ChartSpec c, QuestionAnswer qa)
    {
        string q = qa.Question;
        if (q == "What is the title of the chart?") return c.Title;
        if (q.StartsWith("What is the label of the", StringComparison.Ordinal)) return q.Contains("x-axis") ? c.XLabel : c.YLabel;
        if (c.Kind == ChartKind.Scatter)
        {
            if (q == "How many points are plotted in total?") return c.Points.Length.ToString(CultureInfo.InvariantCulture);
            if (q.StartsWith("How many points belong to ", StringComparison.Ordinal))
            {
                var s = c.Series.Single(x => q == $"How many points belong to {x.Name}?");
                return c.Points.Count(p => p.Series == s.Name).ToString(CultureInfo.InvariantCulture);
            }
            if (q.Contains("highest y")) return c.Points.MaxBy(p => p.Y)!.Series;
            if (q.Contains("highest x")) return c.Points.MaxBy(p => p.X)!.Series;
            throw new Xunit.Sdk.XunitException("unexpected scatter question: " + q);
        }
        ChartSeries? series = c.Series.Length > 1 || c.Kind is ChartKind.Line or ChartKind.GroupedBar
            ? c.Series.Where(s => q.Contains(s.Name, StringComparison.Ordinal)).OrderByDescending(s => s.Name.Length).FirstOrDefault()
            : c.Series[0];
        Assert.DoesNotContain(c.Series, s => c.Categories.Contains(s.Name));
        var cats = Named(c.Categories, series is null || c.Series.Length == 1 && c.Kind is ChartKind.Bar or ChartKind.HorizontalBar or ChartKind.Pie ? q : q.Replace(series.Name, "", StringComparison.Ordinal));
        switch (qa.Type)
        {
            case "count":
                if (q.Contains("series")) return c.Series.Length.ToString(CultureInfo.InvariantCulture);
                return c.Categories.Length.ToString(CultureInfo.InvariantCulture);
            case "sum":
                return F(c, Math.Round(c.Series[0].Values.Sum(), c.Decimals, MidpointRounding.AwayFromZero));
            case "read_value":
                return F(c, series!.Values[cats.Single()]);
            case "trend":
                return series!.Values[^1] > series.Values[0] ? "Increase" : "Decrease";
            case "compare":
            {
                // "Is the value of A greater than the value of B?": order by position in the question.
                var ordered = cats.OrderBy(k => q.IndexOf($"of {c.Categories[k]}", StringComparison.Ordinal)).ToArray();
                return series!.Values[ordered[0]] > series.Values[ordered[1]] ? "Yes" : "No";
            }
            case "difference":
            {
                Assert.Equal(2, cats.Length);
                double d = Math.Abs(series!.Values[cats[0]] - series.Values[cats[1]]);
                return c.Kind == ChartKind.Pie ? d.ToString("0", CultureInfo.InvariantCulture) : F(c, d);
            }
            case "extremum":
            {
                if (q.StartsWith("Which series", StringComparison.Ordinal))
                {
                    int k = cats.Single();
                    return c.Series.MaxBy(s => s.Values[k])!.Name;
                }
                bool high = q.Contains("highest") || q.Contains("largest");
                var v = series!.Values;
                int best = Enumerable.Range(0, v.Length).OrderBy(k => high ? -v[k] : v[k]).First();
                Assert.Equal(1, v.Count(x => x == v[best]));
                return c.Categories[best];
            }
        }
        throw new Xunit.Sdk.XunitException($"unexpected question type {qa.Type}: {q}");
    }
}

public class ChartPixelTests
{
    [Fact]
    public void BarHeightsInTheImageMatchTheValues()
    {
        int checkedCharts = 0;
        for (int i = 0; checkedCharts < 12 && i < 400; i++)
        {
            var ex = ChartGenerator.Generate(13, i, 280);
            var c = ex.Spec;
            if (c.Kind != ChartKind.Bar) continue;
            checkedCharts++;
            using var bmp = SkiaSharp.SKBitmap.Decode(ex.Row.Image.Bytes);
            float s = bmp.Width / ChartRenderer.DesignWidth;
            var plot = ChartRenderer.PlotRect(c);
            double top = ChartRenderer.AxisTop(c.Series[0].Values.Max());
            float slot = plot.Width / c.Categories.Length;
            for (int k = 0; k < c.Categories.Length; k++)
            {
                // Walk up from just above the x axis while the pixel keeps the bar's colour.
                int x = (int)((plot.Left + slot * (k + 0.5f)) * s);
                int y0 = (int)(plot.Bottom * s) - 3;
                var bar = bmp.GetPixel(x, y0);
                int y = y0;
                while (y > 0 && Close(bmp.GetPixel(x, y - 1), bar)) y--;
                double expectedTop = (plot.Bottom - c.Series[0].Values[k] / top * plot.Height) * s;
                Assert.True(Math.Abs(y - expectedTop) <= 2.5, $"chart {i} bar {k} ({c.Categories[k]} = {c.Series[0].Values[k]}): top at {y}px, expected {expectedTop:F1}px");
            }
        }
        Assert.Equal(12, checkedCharts);
    }

    static bool Close(SkiaSharp.SKColor a, SkiaSharp.SKColor b) => Math.Abs(a.Red - b.Red) + Math.Abs(a.Green - b.Green) + Math.Abs(a.Blue - b.Blue) < 30;
}
