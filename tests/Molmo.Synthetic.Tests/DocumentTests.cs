using System.Globalization;
using Molmo.Synthetic.Documents;

namespace Molmo.Synthetic.Tests;

public class DocumentTests
{
    static string Inv(double v) => v.ToString("0", CultureInfo.InvariantCulture);

    [Fact]
    public void TableAnswersAreRecomputedFromTheCells()
    {
        for (int i = 0; i < 120; i++)
        {
            var ex = TableGenerator.Generate(8, i, 96);
            var t = ex.Spec;
            Assert.All(t.Rows, r => Assert.Equal(t.Columns.Length, r.Length));
            foreach (var qa in ex.Questions)
            {
                string q = qa.Question;
                var rows = Enumerable.Range(0, t.Rows.Length).Where(r => q.Contains(t.Rows[r][0], StringComparison.Ordinal)).ToArray();
                int col = t.NumericColumns.Where(c => q.Contains(" " + t.Columns[c].Split(" (")[0] + " ", StringComparison.Ordinal) || q.Contains(" " + t.Columns[c].Split(" (")[0] + " of", StringComparison.Ordinal) || q.EndsWith(" " + t.Columns[c].Split(" (")[0] + "?", StringComparison.Ordinal))
                    .DefaultIfEmpty(-1).First();
                double[] Col(int c) => t.Rows.Select(r => double.Parse(r[c], CultureInfo.InvariantCulture)).ToArray();
                string expected = qa.Type switch
                {
                    "read_value" => t.Rows[rows.Single()][col],
                    "extremum" => q.Contains("highest") ? t.Rows.MaxBy(r => double.Parse(r[col], CultureInfo.InvariantCulture))![0] : t.Rows.MinBy(r => double.Parse(r[col], CultureInfo.InvariantCulture))![0],
                    "difference" => Inv(Math.Abs(Col(col)[rows[0]] - Col(col)[rows[1]])),
                    "sum" => Inv(Col(col).Sum()),
                    "count" when q.Contains("greater than") => Col(col).Count(v => v > double.Parse(q.Split("greater than ")[1].TrimEnd('?'), CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture),
                    "count" => t.Rows.Length.ToString(CultureInfo.InvariantCulture),
                    "text_lookup" when q.Contains("title") => t.Title,
                    "text_lookup" when q.StartsWith("Which", StringComparison.Ordinal) => t.Rows.Single(r => q.EndsWith($" {r[t.TextColumn]}?", StringComparison.Ordinal))[0],
                    "text_lookup" => t.Rows[rows.Single()][t.TextColumn],
                    _ => throw new Xunit.Sdk.XunitException($"unexpected question {q}"),
                };
                Assert.True(expected == qa.Answer, $"table {i}: '{q}' answered '{qa.Answer}', recomputed '{expected}'");
            }
        }
    }

    [Fact]
    public void ReceiptFormAndFlowchartAnswersAreRecomputed()
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < 90; i++)
        {
            var ex = DocumentGenerator.Generate(2, i, 96);
            seen.Add(ex.Row.FigureType);
            foreach (var qa in ex.Questions)
            {
                string q = qa.Question;
                string expected = ex.Spec switch
                {
                    ReceiptSpec r => ReceiptAnswer(r, q),
                    FormSpec f => FormAnswer(f, q),
                    FlowchartSpec f => FlowAnswer(f, q),
                    _ => throw new Xunit.Sdk.XunitException("unknown spec"),
                };
                Assert.True(expected == qa.Answer, $"doc {i} ({ex.Row.FigureType}): '{q}' answered '{qa.Answer}', recomputed '{expected}'");
            }
        }
        Assert.Equal(3, seen.Count);
    }

    static string Money(decimal v) => "$" + v.ToString("0.00", CultureInfo.InvariantCulture);

    static string ReceiptAnswer(ReceiptSpec r, string q)
    {
        decimal sub = r.Lines.Sum(l => l.Quantity * l.UnitPrice);
        decimal tax = Math.Round(sub * r.TaxRatePercent / 100, 2, MidpointRounding.AwayFromZero);
        var line = r.Lines.FirstOrDefault(l => q.Contains($" {l.Item} ", StringComparison.Ordinal) || q.EndsWith($" {l.Item}?", StringComparison.Ordinal));
        return q switch
        {
            "What is the name of the store?" => r.Store,
            "What is the total amount?" => Money(sub + tax),
            "What is the subtotal?" => Money(sub),
            "How much tax was charged?" => Money(tax),
            "How many different items are listed on the receipt?" => r.Lines.Length.ToString(CultureInfo.InvariantCulture),
            "Which item has the highest line total?" => r.Lines.OrderByDescending(l => l.Quantity * l.UnitPrice).First().Item,
            "On what date was the purchase made?" => r.Date,
            "How was the purchase paid?" => r.Payment,
            "How many units were bought in total?" => r.Lines.Sum(l => l.Quantity).ToString(CultureInfo.InvariantCulture),
            _ when q.StartsWith("What is the unit price of", StringComparison.Ordinal) => Money(line!.UnitPrice),
            _ when q.StartsWith("How many ", StringComparison.Ordinal) && q.EndsWith(" were bought?", StringComparison.Ordinal) => line!.Quantity.ToString(CultureInfo.InvariantCulture),
            _ => throw new Xunit.Sdk.XunitException("unexpected receipt question " + q),
        };
    }

    static string FormAnswer(FormSpec f, string q)
    {
        if (q == "What is the title of the form?") return f.Title;
        if (q == "How many fields are filled in on the form?") return f.Labels.Length.ToString(CultureInfo.InvariantCulture);
        if (q.StartsWith("What is entered in the field", StringComparison.Ordinal)) return f.Values[Array.FindIndex(f.Labels, l => q.Contains($"\"{l}\""))];
        if (q.StartsWith("Which field contains the value", StringComparison.Ordinal))
        {
            var idx = Enumerable.Range(0, f.Values.Length).Where(i => q.Contains($"\"{f.Values[i]}\"")).ToList();
            Assert.Single(idx);
            return f.Labels[idx[0]];
        }
        throw new Xunit.Sdk.XunitException("unexpected form question " + q);
    }

    static string FlowAnswer(FlowchartSpec f, string q)
    {
        if (q == "What is the first step in the diagram?") return f.Steps[0];
        if (q == "What is the last step in the diagram?") return f.Steps[^1];
        if (q == "How many steps does the diagram show?") return f.Steps.Length.ToString(CultureInfo.InvariantCulture);
        if (q == "What is the title of the diagram?") return f.Title;
        int k = Array.FindIndex(f.Steps, s => q.Contains($"\"{s}\""));
        if (q.Contains("right after")) return f.Steps[k + 1];
        if (q.Contains("right before")) return f.Steps[k - 1];
        throw new Xunit.Sdk.XunitException("unexpected flowchart question " + q);
    }
}
