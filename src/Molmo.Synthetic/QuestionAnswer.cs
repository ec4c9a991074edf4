namespace Molmo.Synthetic;

/// <summary>One question with its exact answer; <paramref name="Type"/> names the kind of question (read_value, extremum, …).</summary>
public sealed record QuestionAnswer(string Question, string Answer, string Type);
