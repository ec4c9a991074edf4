using Molmo.Eval.Benchmarks;
using Molmo.Eval.Scoring;

namespace Molmo.Eval.Runner;

/// <summary>
/// The task table: task → style tag, max new tokens, metric (docs: pixmo-data-and-eval §3.7, §4; molmo-spec §4.4, §6),
/// and the prompt builder.
/// </summary>
public static class EvalTasks
{
    /// <summary>Short answers get 12 new tokens in the Molmo evaluation; pointing and counting 192.</summary>
    public const int ShortAnswerTokens = 12;
    public const int PointingTokens = 192;

    /// <summary>
    /// Styles that were trained without a prefix 90 % of the time ("demo" styles); the evaluation gives them the natural
    /// prompt with no tag.
    /// </summary>
    public static IReadOnlySet<string> DemoStyles { get; } = new HashSet<string>(StringComparer.Ordinal)
        { "pointing", "point_count", "user_qa", "long_caption" };

    public static IReadOnlyList<EvalTask> All { get; } =
    [
        new("vqav2", "VQA v2 (Molmo VQA score)", "vqa2", true, ShortAnswerTokens, MetricKind.Vqa, PromptKind.Question, "vqav2"),
        new("textvqa", "TextVQA val (Molmo VQA score)", "text_vqa", true, ShortAnswerTokens, MetricKind.Vqa, PromptKind.Question, "textvqa"),
        new("docvqa", "DocVQA (ANLS)", "doc_qa", true, ShortAnswerTokens, MetricKind.Anls, PromptKind.Question, "docvqa"),
        new("infovqa", "InfographicVQA (ANLS)", "info_qa", true, ShortAnswerTokens, MetricKind.Anls, PromptKind.Question, "infovqa"),
        new("chartqa", "ChartQA (relaxed accuracy)", "chart_qa", true, ShortAnswerTokens, MetricKind.Relaxed, PromptKind.Question, "chartqa"),
        new("ai2d", "AI2D (multiple choice; letter-label questions use ai2_diagram_no_letter)", "ai2_diagram", true, ShortAnswerTokens,
            MetricKind.MultipleChoice, PromptKind.MultipleChoice, "ai2d"),
        new("countbenchqa", "CountBenchQA (exact count)", "point_count", false, PointingTokens, MetricKind.Count, PromptKind.Counting, "countbenchqa"),
        new("pixmo_count", "PixMo-Count test (exact count)", "point_count", false, PointingTokens, MetricKind.Count, PromptKind.Counting, "pixmo_count"),
        new("clock_bench", "Real-world clock reading (hour exact, minute ±1)", "clocks", true, ShortAnswerTokens, MetricKind.Clock,
            PromptKind.Clock, "clock_bench"),
        new("pointing", "PixMo-Points-Eval (pointing precision/recall/F1)", "pointing", false, PointingTokens, MetricKind.Points,
            PromptKind.Pointing, "pixmo_points_eval"),
        new("short_answer", "Any short-answer set (eval_short_answer → vqa2 tag, VQA score)", "vqa2", true, ShortAnswerTokens,
            MetricKind.Vqa, PromptKind.Question, null),
        new("multiple_choice", "Any multiple-choice set (eval_multiple_choice → a_okvqa_mc tag)", "a_okvqa_mc", true, ShortAnswerTokens,
            MetricKind.MultipleChoice, PromptKind.MultipleChoice, null),
    ];

    /// <exception cref="ArgumentException">unknown task (the message lists the known ones).</exception>
    public static EvalTask Get(string name) =>
        All.FirstOrDefault(t => string.Equals(t.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown task '{name}'; expected one of: {string.Join(", ", All.Select(t => t.Name))}");

    /// <summary>The style tag used for an item (AI2D letter-label questions switch to <c>ai2_diagram_no_letter</c>).</summary>
    public static string StyleFor(EvalTask task, BenchmarkItem item) =>
        task.Name == "ai2d" && MultipleChoiceReference.OptionsAreLetters(item.Options) ? "ai2_diagram_no_letter" : task.Style;

    /// <summary>The user text sent to the model: "{style}: " (unless a demo style) followed by the task's prompt.</summary>
    /// <exception cref="InvalidDataException">the item lacks the question/label/options the prompt needs.</exception>
    public static string BuildPrompt(EvalTask task, BenchmarkItem item)
    {
        var where = $"item {item.Id}";
        string text = task.Prompt switch
        {
            PromptKind.Question => item.Question ?? throw new InvalidDataException($"{where}: task {task.Name} needs a \"question\""),
            PromptKind.MultipleChoice => MultipleChoiceText(item, where, task),
            PromptKind.Counting => item.Question ?? (item.Label != null ? $"How many {item.Label.ToLowerInvariant()} are there?"
                : throw new InvalidDataException($"{where}: task {task.Name} needs a \"question\" or a \"label\"")),
            PromptKind.Pointing => item.Question ?? (item.Label != null
                ? $"Point to {item.Label.ToLowerInvariant()}\nPlease say 'This isn't in the image.' if it is not in the image."
                : throw new InvalidDataException($"{where}: task {task.Name} needs a \"question\" or a \"label\"")),
            PromptKind.Clock => item.Question ?? "What time is being shown?",
            _ => throw new ArgumentOutOfRangeException(nameof(task)),
        };
        var style = StyleFor(task, item);
        return task.UsePrefix && !DemoStyles.Contains(style) ? $"{style}: {text}" : text;
    }

    static string MultipleChoiceText(BenchmarkItem item, string where, EvalTask task)
    {
        if (item.Question == null) throw new InvalidDataException($"{where}: task {task.Name} needs a \"question\"");
        if (item.Options.Count == 0) throw new InvalidDataException($"{where}: task {task.Name} needs \"options\"");
        var sb = new System.Text.StringBuilder(item.Question).Append('\n');
        bool letters = MultipleChoiceReference.OptionsAreLetters(item.Options);
        var names = Metrics.MultipleChoice.Letters(item.Options.Count);
        for (int i = 0; i < item.Options.Count; i++)
            sb.Append(letters ? item.Options[i] : $"{names[i]}: {item.Options[i]}").Append('\n');
        return sb.ToString();
    }
}
