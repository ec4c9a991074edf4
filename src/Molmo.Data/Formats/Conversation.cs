namespace Molmo.Data.Formats;

public enum MessageRole { User, Assistant }

public sealed record Message(MessageRole Role, string Text);

/// <summary>
/// One annotation of an image as a conversation: user and assistant turns alternating, starting with the user
/// (the user text already carries any style tag or length hint). <see cref="Style"/> is the dataset's style tag.
/// </summary>
public sealed record Conversation
{
    public string Style { get; }
    public IReadOnlyList<Message> Messages { get; }

    public Conversation(string style, IReadOnlyList<Message> messages)
    {
        if (messages.Count == 0) throw new ArgumentException($"conversation of style '{style}' has no messages", nameof(messages));
        for (int i = 0; i < messages.Count; i++)
        {
            var expected = i % 2 == 0 ? MessageRole.User : MessageRole.Assistant;
            if (messages[i].Role != expected)
                throw new ArgumentException($"conversation of style '{style}': message {i} is {messages[i].Role}, expected {expected} (turns must alternate, user first)", nameof(messages));
        }
        Style = style;
        Messages = messages;
    }

    /// <summary>A single question/answer pair.</summary>
    public static Conversation SingleTurn(string style, string user, string assistant) =>
        new(style, [new Message(MessageRole.User, user), new Message(MessageRole.Assistant, assistant)]);
}
