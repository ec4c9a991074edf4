using System.Globalization;

namespace Molmo.Text;

/// <summary>
/// Molmo's prompt format (spec §4.2–4.4). A user turn is <c>" User: " + [style + ": "] + text + " Assistant:"</c>
/// (leading space, none at the end); an assistant turn is <c>" " + text</c>. Every message is tokenised on its own and
/// the token lists are concatenated, with EOS after each assistant message. The full model input is
/// <c>[BOS] + image tokens + text tokens</c>.
/// </summary>
public static class PromptBuilder
{
    /// <summary>Text before the user message (note the leading space).</summary>
    public const string UserPrefix = " User: ";

    /// <summary>Text after the user message; the model continues with a leading-space token.</summary>
    public const string AssistantSuffix = " Assistant:";

    /// <summary>Length hint used at inference for captions (65 × 15 ≈ 975 characters).</summary>
    public const int DefaultCaptionLength = 65;

    /// <summary>Style tags seen in Molmo training (spec §4.4). Others are accepted too.</summary>
    public static IReadOnlyList<string> KnownStyles { get; } =
    [
        "vqa2", "coco_captioning", "gqa", "ocr_vqa", "tally_qa", "text_vqa", "okvqa", "chart_qa", "doc_qa", "info_qa", "st_qa",
        "science_qa", "ai2_diagram", "ai2_diagram_no_letter", "a_okvqa_mc", "a_okvqa_da", "tabwmp_da", "figure_qa", "plot_qa",
        "dv_qa", "android_control", "clocks", "long_caption", "transcript", "pointing", "point_count", "point_qa", "user_qa",
        "synthetic_qa", "scifi_charts", "pixmo_docs_charts", "pixmo_docs_tables", "pixmo_docs_diagrams", "pixmo_docs_other",
    ];

    /// <summary>
    /// Maps the eval-only style names to the tags the model saw (<c>eval_short_answer</c> → <c>vqa2</c>,
    /// <c>eval_multiple_choice</c> → <c>a_okvqa_mc</c>); null or blank → null; anything else is returned trimmed.
    /// </summary>
    public static string? ResolveStyle(string? style)
    {
        if (string.IsNullOrWhiteSpace(style)) return null;
        style = style.Trim();
        return style switch
        {
            "eval_short_answer" => "vqa2",
            "eval_multiple_choice" => "a_okvqa_mc",
            _ => style,
        };
    }

    /// <summary><c>style + ": "</c>, or "" without a style.</summary>
    public static string StylePrefix(string? style) => ResolveStyle(style) is { } s ? s + ": " : "";

    /// <summary>
    /// The single-turn prompt text, e.g. <c>" User: vqa2: What color is the car? Assistant:"</c>. The style prefix goes
    /// inside the role wrapper; without a style the text is used as given.
    /// </summary>
    public static string UserTurn(string text, string? style = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        return UserPrefix + StylePrefix(style) + text + AssistantSuffix;
    }

    /// <summary>An assistant message as it is tokenised: <c>" " + text</c>.</summary>
    public static string AssistantTurn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return " " + text;
    }

    /// <summary>
    /// The caption length hint, <c>"{style} {length}:"</c> with a space (not the paper's underscore), e.g.
    /// <c>"long_caption 65:"</c> or <c>"transcript 40:"</c>. <paramref name="length"/> ≈ wanted characters / 15.
    /// </summary>
    public static string LengthHint(int length = DefaultCaptionLength, string style = "long_caption")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentException.ThrowIfNullOrWhiteSpace(style);
        return style.Trim() + " " + length.ToString(CultureInfo.InvariantCulture) + ":";
    }

    /// <summary>
    /// A caption request with a length hint as the whole user text, in role format:
    /// <c>" User: long_caption 65: Assistant:"</c>. (Pre-training used no role wrapper: <c>" long_caption 65:"</c>,
    /// i.e. <c>" " + LengthHint(...)</c>.)
    /// </summary>
    public static string CaptionPrompt(int length = DefaultCaptionLength, string style = "long_caption") =>
        UserTurn(LengthHint(length, style));

    /// <summary>Tokens of <see cref="UserTurn"/>.</summary>
    public static int[] EncodePrompt(MolmoTokenizer tokenizer, string text, string? style = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer.Encode(UserTurn(text, style));
    }

    /// <summary>
    /// The message strings of a conversation before tokenisation: user, assistant, user, … (an odd count, ending
    /// with the user turn to answer). The style prefix is put on the first user message only.
    /// </summary>
    public static IReadOnlyList<string> FormatConversation(IReadOnlyList<string> messages, string? style = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0 || messages.Count % 2 == 0)
            throw new ArgumentException(
                $"a conversation alternates user and assistant messages and ends with a user message, so it needs an odd count; got {messages.Count}.",
                nameof(messages));
        var formatted = new string[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new ArgumentException($"message {i} is null.", nameof(messages));
            formatted[i] = i % 2 == 0 ? UserTurn(m, i == 0 ? style : null) : AssistantTurn(m);
        }
        return formatted;
    }

    /// <summary>
    /// Text tokens of a multi-turn conversation (spec §4.2): each message tokenised separately, EOS after every
    /// assistant message, ending with the last user turn's " Assistant:". Turn 2 is
    /// tok(" User: q1 Assistant:") + tok(" a1") + [EOS] + tok(" User: q2 Assistant:").
    /// </summary>
    public static int[] EncodeConversation(MolmoTokenizer tokenizer, IReadOnlyList<string> messages, string? style = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var formatted = FormatConversation(messages, style);
        var ids = new List<int>();
        for (int i = 0; i < formatted.Count; i++)
        {
            ids.AddRange(tokenizer.Encode(formatted[i]));
            if (i % 2 == 1) ids.Add(tokenizer.EosId);
        }
        return ids.ToArray();
    }

    /// <summary>The model input <c>[BOS] + image tokens + text tokens</c> (spec §4.3); pass an empty image span for text only.</summary>
    public static int[] BuildInputIds(int bos, ReadOnlySpan<int> imageTokens, ReadOnlySpan<int> textTokens)
    {
        var ids = new int[1 + imageTokens.Length + textTokens.Length];
        ids[0] = bos;
        imageTokens.CopyTo(ids.AsSpan(1));
        textTokens.CopyTo(ids.AsSpan(1 + imageTokens.Length));
        return ids;
    }
}
