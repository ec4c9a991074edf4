using System.Globalization;

namespace Molmo.Synthetic.Documents;

/// <summary>One receipt line: <see cref="Quantity"/> × <see cref="UnitPrice"/> (cents avoided: prices are decimal).</summary>
public sealed record ReceiptLine(string Item, int Quantity, decimal UnitPrice)
{
    public decimal LineTotal => Quantity * UnitPrice;
}

/// <summary>A shop receipt; subtotal, tax and total follow from the lines and the tax rate.</summary>
public sealed record ReceiptSpec(string Store, string Date, string Time, ReceiptLine[] Lines, decimal TaxRatePercent, string Payment)
{
    public decimal Subtotal => Lines.Sum(l => l.LineTotal);
    public decimal Tax => Math.Round(Subtotal * TaxRatePercent / 100m, 2, MidpointRounding.AwayFromZero);
    public decimal Total => Subtotal + Tax;
    public static string Money(decimal v) => "$" + v.ToString("0.00", CultureInfo.InvariantCulture);
}

/// <summary>A filled-in form: labelled fields with values.</summary>
public sealed record FormSpec(string Title, string[] Labels, string[] Values, string Footer);

/// <summary>A linear flowchart of steps drawn as boxes joined by arrows.</summary>
public sealed record FlowchartSpec(string Title, string[] Steps, bool Horizontal);
