namespace Molmo.Generation;

/// <summary>
/// Applies stop strings to streamed text: emits text as soon as it cannot be the start of a stop string, and ends the
/// stream at the first stop string (which is not emitted), even when it spans several tokens.
/// </summary>
public sealed class StopStringFilter(IReadOnlyList<string> stopStrings)
{
    readonly System.Text.StringBuilder _all = new();
    int _emitted;
    readonly int _hold = stopStrings.Count == 0 ? 0 : stopStrings.Max(s => s.Length) - 1;

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what may be shown now.</summary>
    public string Push(string text)
    {
        if (Stopped || text.Length == 0) return "";
        _all.Append(text);
        var all = _all.ToString();
        int searchFrom = Math.Max(0, _emitted - _hold);
        int cut = -1;
        foreach (var s in stopStrings)
        {
            int i = all.IndexOf(s, searchFrom, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            Stopped = true;
            var last = cut > _emitted ? all[_emitted..cut] : "";
            _emitted = Math.Max(_emitted, cut);
            return last;
        }
        int safe = Math.Max(_emitted, all.Length - _hold);
        // Hold back only a tail that could still grow into a stop string.
        while (safe < all.Length && !stopStrings.Any(s => s.StartsWith(all[safe..], StringComparison.Ordinal))) safe++;
        if (safe <= _emitted) return "";
        var chunk = all[_emitted..safe];
        _emitted = safe;
        return chunk;
    }

    /// <summary>The held-back tail at the end of generation.</summary>
    public string Flush()
    {
        if (Stopped) return "";
        var all = _all.ToString();
        var rest = all[_emitted..];
        _emitted = all.Length;
        return rest;
    }
}
