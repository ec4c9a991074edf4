using System.Text.Json;
using Molmo.Synthetic.Parquet;

namespace Molmo.Synthetic.Charts;

/// <summary>A generated chart: the row, the spec it was drawn from and its questions.</summary>
public sealed record ChartExample(DocRow Row, ChartSpec Spec, IReadOnlyList<QuestionAnswer> Questions);

/// <summary>Bar, horizontal bar, grouped bar, line, pie and scatter charts from random data with exact Q/A.</summary>
public static class ChartGenerator
{
    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public static ChartExample Generate(long seed, long index, int size)
    {
        if (size < 64) throw new ArgumentOutOfRangeException(nameof(size), $"image size {size} px is too small for charts (at least 64)");
        var rng = SyntheticRandom.ForRow(seed, index);
        var kind = (ChartKind)rng.Int(0, Enum.GetValues<ChartKind>().Length);
        var spec = Sample(kind, rng);
        var questions = ChartQuestions.For(spec, rng);
        int w = size, h = (int)Math.Round(size * 0.75);
        using var surface = ImageEncoding.NewSurface(w, h);
        ChartRenderer.Draw(surface.Canvas, spec, w, h, rng);
        var png = ImageEncoding.Png(surface);
        var id = $"charts-{seed}-{index:D7}";
        var row = new DocRow
        {
            ImageId = id,
            Image = new ImageCell { Bytes = png, Path = id + ".png" },
            ImageWidth = w,
            ImageHeight = h,
            FigureType = spec.FigureType,
            DataJson = JsonSerializer.Serialize(spec, Json),
            Questions = questions.Select(q => new QuestionCell { Question = q.Question, Answer = q.Answer, Type = q.Type }).ToList(),
        };
        return new ChartExample(row, spec, questions);
    }

    public static ChartSpec Sample(ChartKind kind, SyntheticRandom rng)
    {
        var topic = rng.Pick(kind == ChartKind.Line ? Vocabulary.Topics.Where(t => t.Ordered).ToList() : Vocabulary.Topics);
        string measure = rng.Pick(topic.Measures);
        int decimals = kind is ChartKind.Pie or ChartKind.GroupedBar ? 0 : rng.Chance(0.3) ? 1 : 0;
        int n = kind switch
        {
            ChartKind.Bar => rng.Int(3, 8),
            ChartKind.HorizontalBar => rng.Int(3, 7),
            ChartKind.GroupedBar => rng.Int(3, 6),
            ChartKind.Line => rng.Int(4, 9),
            ChartKind.Pie => rng.Int(3, 7),
            _ => 0,
        };
        string[] cats = topic.Ordered
            ? topic.Categories.Skip(rng.Int(0, topic.Categories.Length - n + 1)).Take(n).ToArray()
            : rng.Sample(topic.Categories, n).ToArray();
        string catTitle = char.ToUpperInvariant(topic.Noun[0]) + topic.Noun[1..];
        string measureName = measure.Split(" (")[0];
        // Plausible magnitudes for the measure (temperatures, prices and yields stay small).
        double scale = measure switch
        {
            _ when measure.Contains("°C", StringComparison.Ordinal) => 40.0,
            _ when measure.Contains("t/ha", StringComparison.Ordinal) || measure.Contains("$/kg", StringComparison.Ordinal) => 12.0,
            _ when measure.Contains("($M)", StringComparison.Ordinal) || measure.Contains("($B)", StringComparison.Ordinal) => rng.Pick(new[] { 10.0, 50.0, 100.0 }),
            _ => rng.Pick(new[] { 10.0, 50.0, 100.0, 500.0, 1000.0 }),
        };
        double Value() => Math.Round(rng.Uniform(scale * 0.08, scale), decimals);

        switch (kind)
        {
            case ChartKind.Pie:
            {
                var shares = Shares(n, rng);
                return new ChartSpec { Kind = kind, Title = $"Share of {measureName.ToLowerInvariant()} by {topic.Noun}", CategoryNoun = topic.Noun,
                    XLabel = catTitle, YLabel = "Share (%)", Categories = cats, Series = [new("Share", shares)] };
            }
            case ChartKind.Scatter:
            {
                var names = rng.Pick(Vocabulary.SeriesNames);
                int k = Math.Min(names.Length, rng.Int(2, 4));
                var series = names.Take(k).ToArray();
                var pts = new List<ScatterPoint>();
                // Points keep a minimum distance (in plot fractions) so none hides another; extremes are clear.
                for (int attempt = 0; attempt < 200; attempt++)
                {
                    pts.Clear();
                    foreach (var s in series)
                    {
                        int m = rng.Int(4, 10);
                        double cx = rng.Uniform(0.2, 0.8), cy = rng.Uniform(0.2, 0.8), spread = rng.Uniform(0.12, 0.3);
                        for (int j = 0; j < m; j++)
                        {
                            for (int t = 0; t < 100; t++)
                            {
                                double x = Math.Clamp(cx + spread * rng.Normal(), 0.02, 0.98), y = Math.Clamp(cy + spread * rng.Normal(), 0.02, 0.98);
                                if (pts.All(p => Math.Abs(p.X - x) > 0.045 || Math.Abs(p.Y - y) > 0.045)) { pts.Add(new(s, x, y)); break; }
                            }
                        }
                    }
                    var byY = pts.OrderByDescending(p => p.Y).ToList();
                    var byX = pts.OrderByDescending(p => p.X).ToList();
                    if (byY[0].Y - byY[1].Y >= 0.05 && byX[0].X - byX[1].X >= 0.05) break;
                }
                double sx = rng.Pick(new[] { 10.0, 100.0, 50.0 }), sy = rng.Pick(new[] { 10.0, 100.0, 1000.0 });
                var xy = rng.Sample(Vocabulary.Topics.SelectMany(t => t.Measures).ToList(), 2);
                return new ChartSpec { Kind = kind, Title = $"{xy[1].Split(" (")[0]} vs {xy[0].Split(" (")[0].ToLowerInvariant()}", CategoryNoun = "point",
                    XLabel = xy[0], YLabel = xy[1], Series = series.Select(s => new ChartSeries(s, [])).ToArray(),
                    Points = pts.Select(p => p with { X = Math.Round(p.X * sx, 2), Y = Math.Round(p.Y * sy, 2) }).ToArray() };
            }
            case ChartKind.GroupedBar:
            case ChartKind.Line:
            {
                // Series names never repeat a category name ("2022 for 2022" would be ambiguous).
                var names = rng.Pick(Vocabulary.SeriesNames.Where(n => !n.Intersect(cats).Any()).ToList());
                int k = kind == ChartKind.Line ? rng.Int(1, Math.Min(3, names.Length + 1)) : rng.Int(2, Math.Min(4, names.Length + 1));
                var series = new ChartSeries[k];
                for (int s = 0; s < k; s++)
                {
                    double[] v;
                    if (kind == ChartKind.Line)
                    {
                        // A random walk reads like a trend; the last point differs clearly from the first.
                        do
                        {
                            v = new double[n];
                            double x = rng.Uniform(0.3, 0.7) * scale, drift = rng.Uniform(-0.12, 0.12) * scale;
                            for (int i = 0; i < n; i++) { v[i] = Math.Round(Math.Clamp(x, scale * 0.05, scale * 1.2), decimals); x += drift + rng.Normal() * scale * 0.08; }
                        } while (!Distinct(v) || Math.Abs(v[^1] - v[0]) < scale * 0.05);
                    }
                    else v = DistinctValues(n, Value);
                    series[s] = new ChartSeries(names[s], v);
                }
                string title = kind == ChartKind.Line ? $"{measureName} per {topic.Noun}" : $"{measureName} by {topic.Noun} and {(names[0].StartsWith("20", StringComparison.Ordinal) ? "year" : "group")}";
                return new ChartSpec { Kind = kind, Title = title, CategoryNoun = topic.Noun, XLabel = catTitle, YLabel = measure, Categories = cats, Series = series, Decimals = decimals };
            }
            default:
            {
                var v = DistinctValues(n, Value);
                return new ChartSpec { Kind = kind, Title = $"{measureName} by {topic.Noun}", CategoryNoun = topic.Noun, XLabel = catTitle, YLabel = measure,
                    Categories = cats, Series = [new(measureName, v)], Decimals = decimals };
            }
        }
    }

    static bool Distinct(double[] v) => v.Distinct().Count() == v.Length;

    static double[] DistinctValues(int n, Func<double> value)
    {
        for (int t = 0; ; t++)
        {
            var v = Enumerable.Range(0, n).Select(_ => value()).ToArray();
            if (Distinct(v) || t > 1000) return v;
        }
    }

    /// <summary>n distinct integer percentages ≥ 4 summing to 100.</summary>
    static double[] Shares(int n, SyntheticRandom rng)
    {
        for (; ; )
        {
            var raw = Enumerable.Range(0, n).Select(_ => rng.Uniform(0.3, 1.0)).ToArray();
            double sum = raw.Sum();
            var v = raw.Select(r => Math.Max(4, Math.Round(r / sum * 100))).ToArray();
            int diff = 100 - (int)v.Sum();
            v[ChartQuestions.ArgMax(v)] += diff;
            if (v.All(x => x >= 4) && Distinct(v)) return v;
        }
    }
}
