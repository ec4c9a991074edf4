using Molmo.Eval.Scoring;

namespace Molmo.Eval.Runner;

/// <summary>How the user text of a task is built from an item.</summary>
public enum PromptKind
{
    /// <summary>The item's question as it is.</summary>
    Question,
    /// <summary>Question, then one line per option ("A: text"), then a newline; letters omitted when the options are letters.</summary>
    MultipleChoice,
    /// <summary>The question, or "How many {label} are there?".</summary>
    Counting,
    /// <summary>The question, or "Point to {label}" with the not-present instruction.</summary>
    Pointing,
    /// <summary>The question, or "What time is being shown?".</summary>
    Clock,
}

/// <summary>
/// One evaluation task: the style tag, whether the tag is written as a prefix, the generation budget, the metric and
/// how prompts are built. All tasks live in <see cref="EvalTasks"/>.
/// </summary>
public sealed record EvalTask(
    string Name,
    string Description,
    string Style,
    bool UsePrefix,
    int MaxNewTokens,
    MetricKind Metric,
    PromptKind Prompt,
    string? PaperBenchmark);
