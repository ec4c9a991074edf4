using System.Globalization;
using System.Text.Json;
using Molmo.Synthetic.Charts;
using Molmo.Synthetic.Parquet;

namespace Molmo.Synthetic.Documents;

/// <summary>A generated table: row, spec and questions.</summary>
public sealed record TableExample(DocRow Row, TableSpec Spec, IReadOnlyList<QuestionAnswer> Questions);

/// <summary>Data tables (people, cities, products) with exact Q/A: cell lookup, extremum, difference, sum, counts and text lookup.</summary>
public static class TableGenerator
{
    static readonly (string Noun, string Plural, string First, string[] Measures, string TextHeader, string[] TextValues)[] Kinds =
    [
        ("employee", "employees", "Name", ["Age", "Years", "Projects", "Salary ($k)", "Sick days"], "Department", Vocabulary.Departments),
        ("city", "cities", "City", ["Population (k)", "Parks", "Museums", "Rain days", "Bus lines"], "Country", ["Norway", "Japan", "Peru", "Kenya", "Spain", "Canada", "Egypt", "Chile"]),
        ("product", "products", "Product", ["Price ($)", "Stock", "Sold", "Returns", "Rating (x10)"], "Supplier", ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne"]),
        ("student", "students", "Student", ["Math", "Physics", "History", "Art", "Biology"], "House", ["Oak", "Pine", "Birch", "Cedar"]),
        ("team", "teams", "Team", ["Wins", "Losses", "Draws", "Goals", "Points"], "Coach", ["Ruiz", "Meyer", "Sato", "Okoro", "Smith", "Dubois", "Kowalski"]),
    ];

    public static TableExample Generate(long seed, long index, int size)
    {
        if (size < 64) throw new ArgumentOutOfRangeException(nameof(size), $"image size {size} px is too small for tables (at least 64)");
        var rng = SyntheticRandom.ForRow(seed, index);
        var spec = Sample(rng);
        var qs = Questions(spec, rng);
        int w = size, h = (int)Math.Round(size * 0.75);
        using var surface = ImageEncoding.NewSurface(w, h);
        TableRenderer.Draw(surface.Canvas, spec, w, h, rng);
        var id = $"tables-{seed}-{index:D7}";
        var row = new DocRow
        {
            ImageId = id, Image = new ImageCell { Bytes = ImageEncoding.Png(surface), Path = id + ".png" }, ImageWidth = w, ImageHeight = h,
            FigureType = "table", DataJson = JsonSerializer.Serialize(spec, ChartGenerator.Json),
            Questions = qs.Select(q => new QuestionCell { Question = q.Question, Answer = q.Answer, Type = q.Type }).ToList(),
        };
        return new TableExample(row, spec, qs);
    }

    public static TableSpec Sample(SyntheticRandom rng)
    {
        var k = rng.Pick(Kinds);
        int nRows = rng.Int(3, 9), nNum = rng.Int(2, 5);
        bool text = rng.Chance(0.6);
        var measures = rng.Sample(k.Measures, nNum);
        var names = new HashSet<string>();
        while (names.Count < nRows)
            names.Add(k.Noun switch
            {
                "employee" or "student" => $"{rng.Pick(Vocabulary.FirstNames)} {rng.Pick(Vocabulary.LastNames)}",
                "city" => rng.Pick(Vocabulary.Cities),
                "team" => $"{rng.Pick(Vocabulary.Cities)} {rng.Pick(new[] { "FC", "United", "Rovers", "Stars" })}",
                _ => rng.Pick(Vocabulary.Items),
            });
        var cols = new List<string> { k.First };
        if (text) cols.Add(k.TextHeader);
        cols.AddRange(measures);
        var rows = names.Select(n => new List<string> { n }).ToList();
        if (text) foreach (var r in rows) r.Add(rng.Pick(k.TextValues));
        foreach (var m in measures)
        {
            int hi = m switch
            {
                "Age" => 70, "Years" => 40, "Projects" or "Sick days" or "Parks" or "Museums" or "Bus lines" => 60,
                "Rain days" => 250, "Rating (x10)" => 50, "Wins" or "Losses" or "Draws" => 38, "Goals" or "Points" => 120,
                "Math" or "Physics" or "History" or "Art" or "Biology" => 100,
                _ => rng.Pick(new[] { 100, 1000 }),
            };
            // Distinct values per column keep every extremum unique.
            var vals = rng.Sample(Enumerable.Range(m == "Age" ? 18 : 1, m == "Age" ? hi - 17 : hi).ToList(), nRows);
            for (int i = 0; i < nRows; i++) rows[i].Add(vals[i].ToString(CultureInfo.InvariantCulture));
        }
        int first = text ? 2 : 1;
        return new TableSpec
        {
            Title = rng.Pick(new[] { $"{char.ToUpperInvariant(k.Plural[0])}{k.Plural[1..]} overview", $"Summary of {k.Plural}", $"{char.ToUpperInvariant(k.Noun[0])}{k.Noun[1..]} statistics", $"Table 1: {k.Plural}" }),
            RowNoun = k.Noun, RowNounPlural = k.Plural, Columns = cols.ToArray(), Rows = rows.Select(r => r.ToArray()).ToArray(),
            NumericColumns = Enumerable.Range(first, nNum).ToArray(), TextColumn = text ? 1 : -1,
        };
    }

    static string Header(TableSpec t, int col) => t.Columns[col].Split(" (")[0];

    public static List<QuestionAnswer> Questions(TableSpec t, SyntheticRandom rng)
    {
        var qs = new List<QuestionAnswer>();
        string Inv(double v) => v.ToString("0", CultureInfo.InvariantCulture);
        int n = t.Rows.Length;
        int c = rng.Pick(t.NumericColumns), r = rng.Int(0, n);
        qs.Add(new($"What is the {Header(t, c)} of {t.Rows[r][0]}?", t.Rows[r][c], "read_value"));
        var col = Enumerable.Range(0, n).Select(i => t.Number(i, c)).ToArray();
        qs.Add(new($"Which {t.RowNoun} has the highest {Header(t, c)}?", t.Rows[ChartQuestions.ArgMax(col)][0], "extremum"));
        int c2 = rng.Pick(t.NumericColumns);
        var col2 = Enumerable.Range(0, n).Select(i => t.Number(i, c2)).ToArray();
        qs.Add(new($"Which {t.RowNoun} has the lowest {Header(t, c2)}?", t.Rows[ChartQuestions.ArgMin(col2)][0], "extremum"));
        int a = rng.Int(0, n), b = (a + rng.Int(1, n)) % n;
        qs.Add(new($"What is the difference in {Header(t, c)} between {t.Rows[a][0]} and {t.Rows[b][0]}?", Inv(Math.Abs(col[a] - col[b])), "difference"));
        qs.Add(new($"What is the total {Header(t, c2)} of all {t.RowNounPlural}?", Inv(col2.Sum()), "sum"));
        qs.Add(new($"How many {t.RowNounPlural} are listed in the table?", n.ToString(CultureInfo.InvariantCulture), "count"));
        var sorted = col.OrderBy(x => x).ToArray();
        int cut = rng.Int(0, n - 1);
        double threshold = Math.Floor((sorted[cut] + sorted[cut + 1]) / 2);
        if (threshold >= sorted[cut] && threshold < sorted[cut + 1])
            qs.Add(new($"How many {t.RowNounPlural} have a {Header(t, c)} greater than {Inv(threshold)}?", col.Count(x => x > threshold).ToString(CultureInfo.InvariantCulture), "count"));
        qs.Add(new("What is the title of the table?", t.Title, "text_lookup"));
        if (t.TextColumn >= 0)
        {
            qs.Add(new($"What is the {t.Columns[t.TextColumn]} of {t.Rows[r][0]}?", t.Rows[r][t.TextColumn], "text_lookup"));
            var unique = t.Rows.GroupBy(x => x[t.TextColumn]).Where(g => g.Count() == 1).Select(g => g.First()).ToList();
            if (unique.Count > 0)
            {
                var u = rng.Pick(unique);
                qs.Add(new($"Which {t.RowNoun} has {t.Columns[t.TextColumn]} {u[t.TextColumn]}?", u[0], "text_lookup"));
            }
        }
        return qs;
    }
}
