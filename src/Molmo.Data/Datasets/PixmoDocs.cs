using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>The four <c>pixmo-docs</c> configurations; each gives its own style tag <c>pixmo_docs_&lt;config&gt;</c>.</summary>
public enum PixmoDocsConfig { Charts, Diagrams, Tables, Other }

/// <summary>One question/answer pair of a <c>pixmo-docs</c> image.</summary>
public sealed record DocsQuestion(string Question, string Answer);

/// <summary>A <c>pixmo-docs</c> row: one rendered image (embedded PNG bytes) with all its Q/A pairs.</summary>
public sealed record PixmoDocsRow(PixmoDocsConfig Config, string ImageId, byte[] ImageBytes, string? ImagePath,
    IReadOnlyList<DocsQuestion> Questions)
{
    /// <summary>The training style tag, e.g. <c>pixmo_docs_charts</c>.</summary>
    public string Style => "pixmo_docs_" + Config.ToString().ToLowerInvariant();
}

/// <param name="config">The configuration of the file; when null it is taken from the file path
/// (a directory or file name containing charts, diagrams, tables or other, as in the Hugging Face layout).</param>
public sealed class PixmoDocsReader(PixmoDocsConfig? config = null) : PixmoReader<PixmoDocsRow>
{
    PixmoDocsConfig _current;

    public override PixmoDatasetKind Kind => PixmoDatasetKind.Docs;

    /// <summary>Finds the config name in a path such as <c>…/pixmo-docs/charts/train-00000-of-00005.parquet</c>.</summary>
    public static PixmoDocsConfig? ConfigFromPath(string path)
    {
        var parts = path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse();
        foreach (var part in parts)
            foreach (var c in Enum.GetValues<PixmoDocsConfig>())
                if (part.Contains(c.ToString(), StringComparison.OrdinalIgnoreCase)) return c;
        return null;
    }

    protected internal override IReadOnlyCollection<string> ColumnsToRead(ParquetDatasetFile file)
    {
        _current = config ?? ConfigFromPath(file.Path)
            ?? throw new ArgumentException($"{file.Path}: cannot tell which pixmo-docs config (charts, diagrams, tables, other) this file is; name it explicitly");
        return base.ColumnsToRead(file);
    }

    protected internal override PixmoDocsRow? Map(RowView row)
    {
        var questions = row.StringList("questions.question");
        var answers = row.StringList("questions.answer");
        if (questions.Count != answers.Count)
            throw new InvalidDataException($"row {row.RowNumber}: 'questions' has {questions.Count} questions but {answers.Count} answers");
        return new(_current, row.String("image_id"), row.Binary("image.bytes"), row.NullableString("image.path"),
            questions.Zip(answers, (q, a) => new DocsQuestion(q, a)).ToList());
    }
}
