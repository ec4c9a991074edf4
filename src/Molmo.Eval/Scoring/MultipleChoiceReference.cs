using System.Globalization;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Metrics;

namespace Molmo.Eval.Scoring;

/// <summary>How a multiple-choice reference is read: the option names the model answers with, and the right option.</summary>
public static class MultipleChoiceReference
{
    /// <summary>True when every option is a single letter (AI2D's letter-label questions): options are listed without
    /// letters and the model answers with the option text ("no-letter" mode).</summary>
    public static bool OptionsAreLetters(IReadOnlyList<string> options) =>
        options.Count > 0 && options.All(o => o.Trim().Length == 1 && char.IsAsciiLetter(o.Trim()[0]));

    /// <summary>
    /// Option names: <c>option_names</c> if given; else the options themselves when they are letters; else "A", "B", ….
    /// The answer may be the option text, the option name, the option's letter ("B") or a 0-based index, tried in that order.
    /// </summary>
    public static (IReadOnlyList<string> Names, int AnswerIndex) Resolve(BenchmarkItem r)
    {
        var where = $"reference id {r.Id}";
        if (r.Options.Count == 0) throw new InvalidDataException($"{where}: multiple choice needs \"options\"");
        var names = r.OptionNames ?? (OptionsAreLetters(r.Options) ? r.Options : MultipleChoice.Letters(r.Options.Count));
        if (names.Count != r.Options.Count)
            throw new InvalidDataException($"{where}: {names.Count} option_names for {r.Options.Count} options");
        if (r.Answer == null) throw new InvalidDataException($"{where}: multiple choice needs \"answer\" (option text, letter or 0-based index)");
        var a = r.Answer.Trim();
        for (int i = 0; i < r.Options.Count; i++)
            if (string.Equals(r.Options[i].Trim(), a, StringComparison.OrdinalIgnoreCase)) return (names, i);
        for (int i = 0; i < names.Count; i++)
            if (string.Equals(names[i].Trim(), a, StringComparison.OrdinalIgnoreCase)) return (names, i);
        var letters = MultipleChoice.Letters(r.Options.Count);
        for (int i = 0; i < letters.Count; i++)
            if (string.Equals(letters[i], a, StringComparison.OrdinalIgnoreCase)) return (names, i);
        if (int.TryParse(a, NumberStyles.Integer, CultureInfo.InvariantCulture, out var idx) && idx >= 0 && idx < r.Options.Count)
            return (names, idx);
        throw new InvalidDataException(
            $"{where}: answer '{r.Answer}' is not one of the options [{string.Join(", ", r.Options)}], their names, letters or a 0-based index");
    }
}
