namespace Molmo.Data.Parquet;

/// <summary>
/// One column a PixMo reader needs: its name and the Arrow types it accepts (see <see cref="ColumnType"/>).
/// The first type is the one the dataset card documents; any others are documented alternatives
/// (for example float32 vs float64 points where the card is not explicit).
/// </summary>
public sealed record ExpectedColumn(string Name, IReadOnlyList<string> AcceptedTypes, bool Optional = false)
{
    public ExpectedColumn(string name, params string[] acceptedTypes) : this(name, (IReadOnlyList<string>)acceptedTypes) { }

    public override string ToString() => $"{Name}: {string.Join(" | ", AcceptedTypes)}";
}
