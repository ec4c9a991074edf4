using System.Globalization;
using System.Text.Json;
using Molmo.Synthetic.Charts;
using Molmo.Synthetic.Parquet;

namespace Molmo.Synthetic.Documents;

/// <summary>A generated document: row, the spec (a <see cref="ReceiptSpec"/>, <see cref="FormSpec"/> or <see cref="FlowchartSpec"/>) and questions.</summary>
public sealed record DocumentExample(DocRow Row, object Spec, IReadOnlyList<QuestionAnswer> Questions);

/// <summary>Receipts, forms and simple flowcharts with exact Q/A (text lookup, amounts, counts, order of steps).</summary>
public static class DocumentGenerator
{
    public static DocumentExample Generate(long seed, long index, int size)
    {
        if (size < 64) throw new ArgumentOutOfRangeException(nameof(size), $"image size {size} px is too small for documents (at least 64)");
        var rng = SyntheticRandom.ForRow(seed, index);
        int kind = rng.Int(0, 3);
        object spec;
        List<QuestionAnswer> qs;
        string type;
        int w = size, h;
        switch (kind)
        {
            case 0:
            {
                var r = SampleReceipt(rng);
                spec = r; qs = ReceiptQuestions(r, rng); type = "receipt"; h = (int)Math.Round(size * 1.25);
                break;
            }
            case 1:
            {
                var f = SampleForm(rng);
                spec = f; qs = FormQuestions(f, rng); type = "form"; h = (int)Math.Round(size * 0.75);
                break;
            }
            default:
            {
                var f = SampleFlowchart(rng);
                spec = f; qs = FlowchartQuestions(f, rng); type = "flowchart"; h = (int)Math.Round(size * 0.75);
                break;
            }
        }
        using var surface = ImageEncoding.NewSurface(w, h);
        DocumentRenderer.Draw(surface.Canvas, spec, w, h, rng);
        var id = $"docs-{seed}-{index:D7}";
        var row = new DocRow
        {
            ImageId = id, Image = new ImageCell { Bytes = ImageEncoding.Png(surface), Path = id + ".png" }, ImageWidth = w, ImageHeight = h,
            FigureType = type, DataJson = JsonSerializer.Serialize(spec, spec.GetType(), ChartGenerator.Json),
            Questions = qs.Select(q => new QuestionCell { Question = q.Question, Answer = q.Answer, Type = q.Type }).ToList(),
        };
        return new DocumentExample(row, spec, qs);
    }

    static string Date(SyntheticRandom rng) =>
        new DateOnly(rng.Int(2015, 2026), rng.Int(1, 13), rng.Int(1, 29)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static ReceiptSpec SampleReceipt(SyntheticRandom rng)
    {
        var items = rng.Sample(Vocabulary.Items, rng.Int(2, 8));
        var lines = items.Select(i => new ReceiptLine(i, rng.Chance(0.6) ? 1 : rng.Int(2, 5), rng.Int(49, 2500) / 100m)).ToArray();
        // Distinct line totals keep "most expensive line" unique.
        while (lines.Select(l => l.LineTotal).Distinct().Count() != lines.Length)
        {
            int k = rng.Int(0, lines.Length);
            lines[k] = lines[k] with { UnitPrice = rng.Int(49, 2500) / 100m };
        }
        return new ReceiptSpec(rng.Pick(Vocabulary.Stores), Date(rng), $"{rng.Int(7, 22):00}:{rng.Int(0, 60):00}", lines,
            rng.Pick(new[] { 0m, 5m, 7m, 8m, 10m, 20m }), rng.Pick(new[] { "Cash", "Card", "Mobile" }));
    }

    static List<QuestionAnswer> ReceiptQuestions(ReceiptSpec r, SyntheticRandom rng)
    {
        var l = rng.Pick(r.Lines);
        var qs = new List<QuestionAnswer>
        {
            new("What is the total amount?", ReceiptSpec.Money(r.Total), "read_value"),
            new("What is the name of the store?", r.Store, "text_lookup"),
            new("What is the subtotal?", ReceiptSpec.Money(r.Subtotal), "read_value"),
            new($"What is the unit price of {l.Item}?", ReceiptSpec.Money(l.UnitPrice), "read_value"),
            new($"How many {l.Item} were bought?", l.Quantity.ToString(CultureInfo.InvariantCulture), "read_value"),
            new("How many different items are listed on the receipt?", r.Lines.Length.ToString(CultureInfo.InvariantCulture), "count"),
            new("Which item has the highest line total?", r.Lines.MaxBy(x => x.LineTotal)!.Item, "extremum"),
            new("On what date was the purchase made?", r.Date, "text_lookup"),
            new("How was the purchase paid?", r.Payment, "text_lookup"),
            new("How many units were bought in total?", r.Lines.Sum(x => x.Quantity).ToString(CultureInfo.InvariantCulture), "sum"),
        };
        if (r.TaxRatePercent > 0) qs.Add(new("How much tax was charged?", ReceiptSpec.Money(r.Tax), "read_value"));
        return qs;
    }

    static readonly (string Title, string[] Labels)[] Forms =
    [
        ("Employee Registration Form", ["Full name", "Employee ID", "Department", "Start date", "City", "Phone"]),
        ("Library Card Application", ["Applicant name", "Date of birth", "Address city", "Card number", "Email", "Phone"]),
        ("Visitor Pass", ["Visitor name", "Host", "Company", "Date", "Badge number", "Floor"]),
        ("Equipment Loan Request", ["Requested by", "Item", "Quantity", "Loan date", "Return date", "Approved by"]),
        ("Conference Registration", ["Attendee", "Organisation", "Country code", "Ticket type", "Arrival date", "Seat"]),
    ];

    public static FormSpec SampleForm(SyntheticRandom rng)
    {
        var (title, labels) = rng.Pick(Forms);
        int n = rng.Int(4, labels.Length + 1);
        var chosen = labels.Take(n).ToArray();
        string Person() => $"{rng.Pick(Vocabulary.FirstNames)} {rng.Pick(Vocabulary.LastNames)}";
        var values = new string[n];
        for (int i = 0; i < n; i++)
        {
            var lab = chosen[i].ToLowerInvariant();
            values[i] = lab switch
            {
                _ when lab.Contains("date", StringComparison.Ordinal) => Date(rng),
                _ when lab.Contains("name", StringComparison.Ordinal) || lab is "requested by" or "approved by" or "host" or "attendee" => Person(),
                _ when lab.Contains("phone", StringComparison.Ordinal) => $"+{rng.Int(1, 99)} {rng.Int(100, 999)} {rng.Int(1000, 9999)}",
                _ when lab.Contains("email", StringComparison.Ordinal) => $"{rng.Pick(Vocabulary.FirstNames).ToLowerInvariant()}{rng.Int(1, 99)}@example.org",
                _ when lab.Contains("city", StringComparison.Ordinal) => rng.Pick(Vocabulary.Cities),
                _ when lab.Contains("department", StringComparison.Ordinal) => rng.Pick(Vocabulary.Departments),
                _ when lab.Contains("number", StringComparison.Ordinal) || lab.Contains("id", StringComparison.Ordinal) => $"{(char)('A' + rng.Int(0, 26))}{rng.Int(10000, 99999)}",
                "item" => rng.Pick(new[] { "Laptop", "Projector", "Camera", "Tripod", "Microphone" }),
                "quantity" or "floor" => rng.Int(1, 12).ToString(CultureInfo.InvariantCulture),
                "company" or "organisation" => rng.Pick(new[] { "Acme Ltd", "Northwind", "Globex", "Blue Sky Labs", "Riverside School" }),
                "ticket type" => rng.Pick(new[] { "Student", "Regular", "Speaker", "Day pass" }),
                "country code" => rng.Pick(new[] { "NO", "JP", "PE", "KE", "ES", "CA", "DE" }),
                "seat" => $"{(char)('A' + rng.Int(0, 8))}{rng.Int(1, 40)}",
                _ => rng.Pick(Vocabulary.Cities),
            };
        }
        return new FormSpec(title, chosen, values, $"Form {(char)('A' + rng.Int(0, 26))}-{rng.Int(10, 99)} · keep a copy for your records");
    }

    static List<QuestionAnswer> FormQuestions(FormSpec f, SyntheticRandom rng)
    {
        var qs = new List<QuestionAnswer>();
        foreach (int i in rng.Sample(Enumerable.Range(0, f.Labels.Length).ToList(), Math.Min(3, f.Labels.Length)))
            qs.Add(new($"What is entered in the field \"{f.Labels[i]}\"?", f.Values[i], "text_lookup"));
        qs.Add(new("How many fields are filled in on the form?", f.Labels.Length.ToString(CultureInfo.InvariantCulture), "count"));
        var uniqueValues = Enumerable.Range(0, f.Labels.Length).Where(i => f.Values.Count(v => v == f.Values[i]) == 1).ToList();
        if (uniqueValues.Count > 0)
        {
            int j = rng.Pick(uniqueValues);
            qs.Add(new($"Which field contains the value \"{f.Values[j]}\"?", f.Labels[j], "text_lookup"));
        }
        qs.Add(new("What is the title of the form?", f.Title, "text_lookup"));
        return qs;
    }

    public static FlowchartSpec SampleFlowchart(SyntheticRandom rng)
    {
        int n = rng.Int(3, 7);
        var steps = rng.Sample(Vocabulary.Process, n).ToArray();
        return new FlowchartSpec(rng.Pick(new[] { "Process overview", "Workflow", "How it works", "Order handling", "Project steps" }), steps, rng.Chance(0.4) && n <= 4);
    }

    static List<QuestionAnswer> FlowchartQuestions(FlowchartSpec f, SyntheticRandom rng)
    {
        int i = rng.Int(0, f.Steps.Length - 1);
        int j = rng.Int(1, f.Steps.Length);
        return
        [
            new($"Which step comes right after \"{f.Steps[i]}\"?", f.Steps[i + 1], "text_lookup"),
            new("What is the first step in the diagram?", f.Steps[0], "text_lookup"),
            new("What is the last step in the diagram?", f.Steps[^1], "text_lookup"),
            new($"Which step comes right before \"{f.Steps[j]}\"?", f.Steps[j - 1], "text_lookup"),
            new("How many steps does the diagram show?", f.Steps.Length.ToString(CultureInfo.InvariantCulture), "count"),
            new("What is the title of the diagram?", f.Title, "text_lookup"),
        ];
    }
}
