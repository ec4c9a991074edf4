namespace Molmo.Synthetic;

/// <summary>The generators: analog clocks, charts, tables, documents (receipts/forms/diagrams), counting and pointing scenes.</summary>
public enum SyntheticKind { Clocks, Charts, Tables, Docs, Count }

public static class SyntheticKinds
{
    public static string Name(this SyntheticKind kind) => kind.ToString().ToLowerInvariant();

    public static SyntheticKind Parse(string name) =>
        Enum.TryParse<SyntheticKind>(name, ignoreCase: true, out var k) && !int.TryParse(name, out _)
            ? k
            : throw new ArgumentException($"unknown generator '{name}': use one of {string.Join(", ", Enum.GetValues<SyntheticKind>().Select(Name))}");
}
