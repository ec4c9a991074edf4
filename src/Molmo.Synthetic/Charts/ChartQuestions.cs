namespace Molmo.Synthetic.Charts;

/// <summary>
/// Questions about a chart with answers computed from its <see cref="ChartSpec"/>: read a value, extremum, difference,
/// comparison, count, trend and text lookup. Only questions with a unique, exact answer are asked.
/// </summary>
public static class ChartQuestions
{
    public static List<QuestionAnswer> For(ChartSpec c, SyntheticRandom rng)
    {
        var qs = new List<QuestionAnswer>();
        switch (c.Kind)
        {
            case ChartKind.Bar:
            case ChartKind.HorizontalBar:
            {
                var v = c.Series[0].Values;
                qs.Add(new("What is the label of the value axis?", c.YLabel, "text_lookup"));
                int i = rng.Int(0, v.Length);
                qs.Add(new($"What is the value of {c.Categories[i]}?", c.Format(v[i]), "read_value"));
                int hi = ArgMax(v), lo = ArgMin(v);
                qs.Add(new($"Which {c.CategoryNoun} has the highest value?", c.Categories[hi], "extremum"));
                qs.Add(new($"Which {c.CategoryNoun} has the lowest value?", c.Categories[lo], "extremum"));
                var (a, b) = TwoDistinct(v.Length, rng);
                qs.Add(new($"What is the difference between the values of {c.Categories[a]} and {c.Categories[b]}?", c.Format(Math.Abs(v[a] - v[b])), "difference"));
                qs.Add(new($"Is the value of {c.Categories[a]} greater than the value of {c.Categories[b]}?", v[a] > v[b] ? "Yes" : "No", "compare"));
                qs.Add(new("How many bars are shown in the chart?", v.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                qs.Add(new("What is the sum of all the values shown?", c.Format(Round(v.Sum(), c.Decimals)), "sum"));
                break;
            }
            case ChartKind.GroupedBar:
            case ChartKind.Line:
            {
                var s = rng.Pick(c.Series);
                int i = rng.Int(0, c.Categories.Length);
                qs.Add(new($"What is the value of {s.Name} for {c.Categories[i]}?", c.Format(s.Values[i]), "read_value"));
                qs.Add(new($"For which {c.CategoryNoun} is {s.Name} the highest?", c.Categories[ArgMax(s.Values)], "extremum"));
                qs.Add(new($"For which {c.CategoryNoun} is {s.Name} the lowest?", c.Categories[ArgMin(s.Values)], "extremum"));
                var (a, b) = TwoDistinct(c.Categories.Length, rng);
                qs.Add(new($"What is the difference in {s.Name} between {c.Categories[a]} and {c.Categories[b]}?", c.Format(Math.Abs(s.Values[a] - s.Values[b])), "difference"));
                qs.Add(new("How many series are shown in the legend?", c.Series.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                if (c.Series.Length >= 2)
                {
                    var values = c.Series.Select(x => x.Values[i]).ToArray();
                    if (values.Count(x => x == values.Max()) == 1)
                        qs.Add(new($"Which series has the highest value for {c.Categories[i]}?", c.Series[ArgMax(values)].Name, "extremum"));
                }
                if (c.Kind == ChartKind.Line)
                {
                    double first = s.Values[0], last = s.Values[^1];
                    qs.Add(new($"Did {s.Name} increase or decrease from {c.Categories[0]} to {c.Categories[^1]}?", last > first ? "Increase" : "Decrease", "trend"));
                }
                else qs.Add(new($"How many groups of bars are there?", c.Categories.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                break;
            }
            case ChartKind.Pie:
            {
                var v = c.Series[0].Values;
                int i = rng.Int(0, v.Length);
                qs.Add(new($"What percentage does {c.Categories[i]} account for?", c.Format(v[i]), "read_value"));
                qs.Add(new($"Which {c.CategoryNoun} has the largest share?", c.Categories[ArgMax(v)], "extremum"));
                qs.Add(new($"Which {c.CategoryNoun} has the smallest share?", c.Categories[ArgMin(v)], "extremum"));
                var (a, b) = TwoDistinct(v.Length, rng);
                if (v[a] < v[b]) (a, b) = (b, a);
                qs.Add(new($"How many percentage points larger is the share of {c.Categories[a]} than that of {c.Categories[b]}?",
                    (v[a] - v[b]).ToString("0", System.Globalization.CultureInfo.InvariantCulture), "difference"));
                qs.Add(new("How many segments does the pie chart have?", v.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                break;
            }
            case ChartKind.Scatter:
            {
                qs.Add(new("What is the label of the x-axis?", c.XLabel, "text_lookup"));
                qs.Add(new("What is the label of the y-axis?", c.YLabel, "text_lookup"));
                var s = rng.Pick(c.Series);
                qs.Add(new($"How many points belong to {s.Name}?", c.Points.Count(p => p.Series == s.Name).ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                qs.Add(new("How many points are plotted in total?", c.Points.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "count"));
                var top = c.Points.OrderByDescending(p => p.Y).ToArray();
                qs.Add(new("Which series contains the point with the highest y value?", top[0].Series, "extremum"));
                var right = c.Points.OrderByDescending(p => p.X).ToArray();
                qs.Add(new("Which series contains the point with the highest x value?", right[0].Series, "extremum"));
                break;
            }
        }
        qs.Add(new("What is the title of the chart?", c.Title, "text_lookup"));
        return qs;
    }

    public static int ArgMax(double[] v) { int k = 0; for (int i = 1; i < v.Length; i++) if (v[i] > v[k]) k = i; return k; }
    public static int ArgMin(double[] v) { int k = 0; for (int i = 1; i < v.Length; i++) if (v[i] < v[k]) k = i; return k; }
    static double Round(double v, int decimals) => Math.Round(v, decimals, MidpointRounding.AwayFromZero);

    static (int, int) TwoDistinct(int n, SyntheticRandom rng)
    {
        int a = rng.Int(0, n), b = rng.Int(0, n - 1);
        if (b >= a) b++;
        return (a, b);
    }
}
