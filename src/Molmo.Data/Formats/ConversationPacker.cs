namespace Molmo.Data.Formats;

/// <summary>How turns are written out (molmo-spec §4.2; training-recipe §1.7).</summary>
public enum MessageFormat
{
    /// <summary>Fine-tuning and inference: user turn <c>" User: {text} Assistant:"</c>, assistant turn <c>" {text}"</c>.</summary>
    Role,

    /// <summary>Caption pre-training: no wrapper; every message is just <c>" {text}"</c>.</summary>
    None,
}

/// <summary>
/// One piece of training text. Each piece is tokenised on its own and the pieces are concatenated (molmo-spec §4.2).
/// <see cref="IsTarget"/> pieces are in the loss, with weight <see cref="LossWeight"/>, and are followed by EOS
/// (which is in the loss too). <see cref="Subsegment"/> is the 1-based conversation number used for the attention rule
/// of packed annotations (training-recipe §1.8).
/// </summary>
public sealed record TextSegment(string Text, bool IsTarget, bool AppendEos, int Subsegment, double LossWeight);

/// <summary>Turns conversations into text segments with loss masks, packing several annotations of one image.</summary>
public static class ConversationPacker
{
    /// <summary>Segments of one conversation. Every message gets a leading space (<c>always_start_with_space</c>).</summary>
    public static IReadOnlyList<TextSegment> Format(Conversation conversation, MessageFormat format, int subsegment = 1, double lossWeight = 1.0)
    {
        var segments = new List<TextSegment>(conversation.Messages.Count);
        foreach (var m in conversation.Messages)
        {
            if (m.Role == MessageRole.User)
                segments.Add(new(format == MessageFormat.Role ? $" User: {m.Text} Assistant:" : " " + m.Text, false, false, subsegment, 0.0));
            else
                segments.Add(new(" " + m.Text, true, true, subsegment, lossWeight));
        }
        return segments;
    }

    /// <summary>
    /// Packs all annotations of one image into one sequence. With <paramref name="rootWeighting"/> (stage 2's
    /// <c>root_subsegments</c>) every target is weighted 1/√n for n conversations. When <paramref name="shuffle"/> is given
    /// the conversation order is shuffled with it (the training loader does so); subsegment ids follow the packed order.
    /// </summary>
    public static IReadOnlyList<TextSegment> Pack(IReadOnlyList<Conversation> conversations, MessageFormat format,
        bool rootWeighting, Random? shuffle = null)
    {
        if (conversations.Count == 0) throw new ArgumentException("nothing to pack: no conversations", nameof(conversations));
        var order = conversations.ToArray();
        shuffle?.Shuffle(order);
        double weight = rootWeighting ? 1.0 / Math.Sqrt(order.Length) : 1.0;
        var segments = new List<TextSegment>();
        for (int i = 0; i < order.Length; i++) segments.AddRange(Format(order[i], format, i + 1, weight));
        return segments;
    }
}
