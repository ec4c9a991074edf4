using Molmo.Data.Datasets;

namespace Molmo.Data.Formats;

/// <summary>Which answer format a pointing example uses; the caller picks it per dataset variant.</summary>
public enum PointingForm
{
    /// <summary>Style <c>pointing</c>: the answer is the point tag(s).</summary>
    Pointing,

    /// <summary>Style <c>point_count</c>: <c>Counting the &lt;points …&gt; shows a total of N.</c></summary>
    PointCount,
}

/// <summary>
/// Turns PixMo records into training conversations, one function per format (pixmo-data-and-eval.md §2.4 and §3;
/// molmo-spec §4.4, §7). The user text carries its style tag as in fine-tuning (<see cref="StylePrefix.DemoOrStyle"/>)
/// unless stated otherwise; <paramref name="rng"/> is the example's own random generator.
/// </summary>
public static class TrainingExamples
{
    public static string StyleOf(PointingForm form) => form == PointingForm.Pointing ? "pointing" : "point_count";

    /// <summary>
    /// Caption pre-training (stage 1, <see cref="MessageFormat.None"/>): the caption (style <c>long_caption</c>) and one
    /// transcript drawn at random (style <c>transcript</c>), each prompted by a length-conditioned tag, in shuffled order.
    /// </summary>
    public static IReadOnlyList<Conversation> CaptionPretraining(PixmoCapRow row, Random rng)
    {
        var list = new List<Conversation>
        {
            Conversation.SingleTurn("long_caption", StylePrefix.LengthConditioned("long_caption", row.Caption, rng), row.Caption),
        };
        if (row.Transcripts.Count > 0)
        {
            var transcript = row.Transcripts[rng.Next(row.Transcripts.Count)];
            list.Add(Conversation.SingleTurn("transcript", StylePrefix.LengthConditioned("transcript", transcript, rng), transcript));
        }
        var shuffled = list.ToArray();
        rng.Shuffle(shuffled);
        return shuffled;
    }

    /// <summary>Fine-tuning caption: a natural caption prompt (tagged <c>long_caption:</c> 10 % of the time) and the caption.</summary>
    public static Conversation CaptionFineTune(PixmoCapRow row, Random rng) =>
        Conversation.SingleTurn("long_caption",
            StylePrefix.DemoOrStyle("long_caption", PromptTemplates.LongCaption[rng.Next(PromptTemplates.LongCaption.Count)], rng), row.Caption);

    /// <summary>AskModelAnything: one conversation per question of the image (style <c>user_qa</c>).</summary>
    public static IReadOnlyList<Conversation> AskModelAnything(IReadOnlyList<PixmoAskModelAnythingRow> rowsOfOneImage, Random rng) =>
        rowsOfOneImage.Select(r => Conversation.SingleTurn("user_qa",
            StylePrefix.DemoOrStyle("user_qa", WithoutPointingPrefix(r.Question, rng), rng), r.Answer)).ToList();

    /// <summary>
    /// CapQA: the message list as one multi-turn conversation (style <c>synthetic_qa</c>, always tagged on the first turn).
    /// Each user turn that asks "how many…" gets an answer-without-pointing prefix. The v1 code prefixed the first
    /// message instead of the matching one; that bug is fixed here.
    /// </summary>
    public static Conversation CapQa(PixmoCapQaRow row, Random rng)
    {
        if (row.Messages.Count == 0 || row.Messages.Count % 2 != 0)
            throw new ArgumentException($"pixmo-cap-qa row for {row.ImageUrl} has {row.Messages.Count} messages; expected user/assistant pairs");
        var messages = new List<Message>(row.Messages.Count);
        for (int i = 0; i < row.Messages.Count; i++)
        {
            if (i % 2 == 1) { messages.Add(new Message(MessageRole.Assistant, row.Messages[i])); continue; }
            var text = WithoutPointingPrefix(row.Messages[i], rng);
            messages.Add(new Message(MessageRole.User, i == 0 ? StylePrefix.DemoOrStyle("synthetic_qa", text, rng) : text));
        }
        return new Conversation("synthetic_qa", messages);
    }

    /// <summary>PixMo-Points: a prompt drawn for <paramref name="form"/> and the answer built from the percent points.</summary>
    public static Conversation Points(PixmoPointsRow row, PointingForm form, Random rng) =>
        PointingConversation(row.Label, row.Points, form, rng);

    /// <summary>PixMo-Count (train): the pixel points are converted with the image's size before formatting.</summary>
    public static Conversation Count(PixmoCountRow row, int imageWidth, int imageHeight, PointingForm form, Random rng)
    {
        if (row.Points.Count != row.Count)
            throw new ArgumentException($"pixmo-count row for {row.ImageUrl} has count {row.Count} but {row.Points.Count} points; " +
                                        "validation/test rows carry no points and are for evaluation only");
        return PointingConversation(row.Label, row.PercentPoints(imageWidth, imageHeight), form, rng);
    }

    /// <summary>Any label and percent points as a pointing or counting conversation (also for generated data).</summary>
    public static Conversation PointingConversation(string label, IReadOnlyList<PixmoPoint> percentPoints, PointingForm form, Random rng)
    {
        var style = StyleOf(form);
        var templates = form == PointingForm.Pointing ? PromptTemplates.Pointing : PromptTemplates.PointCount;
        var prompt = StylePrefix.DemoOrStyle(style, PromptTemplates.Pick(templates, label, rng), rng);
        var text = label.ToLowerInvariant();
        var answer = form == PointingForm.Pointing
            ? PointFormatter.PointingAnswer(percentPoints, text)
            : PointFormatter.CountingAnswer(percentPoints, text);
        return Conversation.SingleTurn(style, prompt, answer);
    }

    /// <summary>Point explanations (style <c>point_qa</c>, always tagged): placeholders become point tags.</summary>
    public static Conversation PointExplanation(PixmoPointExplanationsRow row) =>
        Conversation.SingleTurn("point_qa", StylePrefix.Always("point_qa", row.Question),
            PointFormatter.ExplainPoints(row.ParsedResponse, row.Points, row.InlineText, row.AltText));

    /// <summary>
    /// Point explanations of one image as training examples: like the reference, an image with more than one question is
    /// split into two examples (here the first ⌈n/2⌉ questions and the rest), each a list of conversations.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<Conversation>> PointExplanationExamples(IReadOnlyList<PixmoPointExplanationsRow> rowsOfOneImage)
    {
        var conversations = rowsOfOneImage.Select(PointExplanation).ToList();
        if (conversations.Count <= 1) return conversations.Count == 0 ? [] : [conversations];
        int half = (conversations.Count + 1) / 2;
        return [conversations.Take(half).ToList(), conversations.Skip(half).ToList()];
    }

    /// <summary>PixMo-Docs: every Q/A of the image as its own conversation, tagged <c>pixmo_docs_&lt;config&gt;:</c>.</summary>
    public static IReadOnlyList<Conversation> Docs(PixmoDocsRow row) =>
        row.Questions.Select(q => Conversation.SingleTurn(row.Style, StylePrefix.Always(row.Style, q.Question), q.Answer)).ToList();

    /// <summary>PixMo-Clocks: <c>clocks: What time is being shown?</c> and the time answer.</summary>
    public static Conversation Clock(PixmoClocksRow row, bool reproduceNoonAmBug = false) =>
        Conversation.SingleTurn(ClockAnswer.Style, StylePrefix.Always(ClockAnswer.Style, ClockAnswer.Prompt), ClockAnswer.Answer(row, reproduceNoonAmBug));

    /// <summary>Prefixes a "how many…" question with a random answer-without-pointing phrase; other questions are unchanged.</summary>
    public static string WithoutPointingPrefix(string question, Random rng) =>
        PromptTemplates.IsHowManyQuestion(question)
            ? PromptTemplates.AnswerWithoutPointing[rng.Next(PromptTemplates.AnswerWithoutPointing.Count)] + " " + question
            : question;
}
