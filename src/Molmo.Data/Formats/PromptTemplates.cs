namespace Molmo.Data.Formats;

/// <summary>
/// User-side prompt templates (this project's own wording, sized like the reference lists of pixmo-data-and-eval.md §3.4/§3.6).
/// <c>{label}</c> is replaced by the lower-cased label. One template is drawn uniformly with the example's random generator.
/// </summary>
public static class PromptTemplates
{
    /// <summary>Pointing prompts (style <c>pointing</c>).</summary>
    public static readonly IReadOnlyList<string> Pointing =
    [
        "Point to {label}",
        "Point to {label}.",
        "Point at {label}.",
        "Point to all {label}.",
        "Point to every {label}.",
        "Point out {label}.",
        "Point out the {label} in the image.",
        "Point out all of the {label}.",
        "Please point to {label}.",
        "Please point out each {label}.",
        "Can you point to {label}?",
        "Could you point at the {label}?",
        "Show me where {label} is.",
        "Show me the {label}.",
        "Show where the {label} are.",
        "Where is {label}?",
        "Where are the {label}?",
        "Where are the {label} in this picture?",
        "Where can I find {label} in this image?",
        "Locate {label}.",
        "Locate every {label}.",
        "Locate all {label} in the image.",
        "Locate the {label} and point to them.",
        "Find {label}.",
        "Find the {label} in the picture.",
        "Find every {label} and point to it.",
        "Mark the {label}.",
        "Mark each {label} with a point.",
        "Put a point on each {label}.",
        "Place a point on {label}.",
        "Indicate where {label} is.",
        "Indicate the position of the {label}.",
        "Identify the location of {label}.",
        "Pinpoint {label}.",
        "Pinpoint each {label} in the photo.",
        "Give the location of the {label}.",
        "Give me the points for {label}.",
        "Which parts of the image show {label}? Point to them.",
        "Tag every {label} you can see.",
        "point to {label}",
        "pointo to the {label}",
    ];

    /// <summary>Point-then-count prompts (style <c>point_count</c>).</summary>
    public static readonly IReadOnlyList<string> PointCount =
    [
        "How many {label} are there?",
        "How many {label} are there? Point to them.",
        "How many {label} are in the image?",
        "How many {label} are in this picture?",
        "How many {label} can you see?",
        "How many {label} do you see?",
        "How many {label} are visible?",
        "How many {label} are shown?",
        "How many {label}?",
        "how many {label}",
        "How mnay {label} are there?",
        "Count the {label}.",
        "Count the {label} in the image.",
        "Count the {label} in this picture.",
        "Count all of the {label}.",
        "Count every {label}.",
        "Count the number of {label}.",
        "Count how many {label} there are.",
        "Please count the {label}.",
        "Can you count the {label}?",
        "Could you count the {label} for me?",
        "Point to and count the {label}.",
        "Point to and count the {label} in the picture.",
        "Point to each {label} and count them.",
        "Point at the {label} and tell me how many there are.",
        "Point to the {label}, then give the count.",
        "Locate and count the {label}.",
        "Locate the {label} and count them.",
        "Find and count the {label}.",
        "Find all {label} and count them.",
        "Mark each {label} and count them.",
        "Mark and count the {label}.",
        "What is the number of {label}?",
        "What is the number of {label} in the image?",
        "What is the total number of {label}?",
        "What's the count of {label}?",
        "What is the count of {label} in this image?",
        "Tell me how many {label} there are.",
        "Tell me the number of {label}.",
        "Give me the number of {label}.",
        "Give the count of {label} in the picture.",
        "Report how many {label} appear.",
        "Determine the number of {label}.",
        "Determine how many {label} are present.",
        "Figure out how many {label} are in the image.",
        "Total number of {label}?",
        "Number of {label}?",
        "Count: {label}",
        "How many {label} appear in this photo?",
        "In this image, how many {label} are there?",
        "Looking at the picture, how many {label} are there?",
        "Count the {label}, pointing to each one.",
    ];

    /// <summary>Natural-language caption prompts used in fine-tuning (style <c>long_caption</c>).</summary>
    public static readonly IReadOnlyList<string> LongCaption =
    [
        "Describe this image.",
        "Describe this image in detail.",
        "Describe the image.",
        "Describe the picture.",
        "Describe everything you see in this image.",
        "Give a detailed description of this image.",
        "Give a long description of the image.",
        "Write a detailed description of this picture.",
        "Write a long caption for this image.",
        "Write a thorough caption for the image.",
        "Caption this image in detail.",
        "Provide a detailed caption.",
        "Provide a detailed description of the photo.",
        "What is in this image? Describe it in detail.",
        "What do you see in this picture?",
        "What does this image show?",
        "Tell me about this image.",
        "Tell me everything about this picture.",
        "Explain what is shown in this image.",
        "Explain the contents of this photo in detail.",
        "Generate a detailed caption for this image.",
        "Please describe this image thoroughly.",
        "Can you describe this image?",
    ];

    /// <summary>
    /// Prefixes put before "how many…" questions of AskModelAnything and CapQA so that the model learns to answer those
    /// with a plain count instead of pointing (a few deliberate typos, like the reference).
    /// </summary>
    public static readonly IReadOnlyList<string> AnswerWithoutPointing =
    [
        "Answer without pointing:",
        "Don't point, just answer:",
        "Do not point. Answer the question:",
        "Without pointing, answer:",
        "Answer the question directly, no pointing:",
        "Just give the answer, no points:",
        "Reply without using points:",
        "No pointing needed:",
        "Answer in words only:",
        "Give a plain answer without pointing:",
        "Answer this without pointing to anything:",
        "Respond without pointing:",
        "Don't use points in your answer:",
        "Answer without using any point tags:",
        "Without marking anything, answer:",
        "Answer with text only:",
        "answer withot pointing:",
        "dont point, answer:",
        "Please answer without pointing:",
        "Answer, but do not point:",
    ];

    /// <summary>Fills <c>{label}</c> (lower-cased) into a template drawn from <paramref name="templates"/>.</summary>
    public static string Pick(IReadOnlyList<string> templates, string label, Random rng) =>
        templates[rng.Next(templates.Count)].Replace("{label}", label.ToLowerInvariant(), StringComparison.Ordinal);

    /// <summary>Whether a question gets an <see cref="AnswerWithoutPointing"/> prefix (it starts with "how many").</summary>
    public static bool IsHowManyQuestion(string question) =>
        question.TrimStart().StartsWith("how many", StringComparison.OrdinalIgnoreCase);
}
