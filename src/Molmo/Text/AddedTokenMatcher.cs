namespace Molmo.Text;

/// <summary>
/// Splits text at added tokens, scanning left to right and taking the longest token that starts at each position
/// (Hugging Face's leftmost-longest rule). Runs between matches are returned as plain text for the BPE model.
/// </summary>
internal sealed class AddedTokenMatcher
{
    /// <summary>A piece of the input: plain text (<see cref="TokenId"/> = -1) or one added token.</summary>
    public readonly record struct Segment(int Start, int Length, int TokenId);

    sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public int TokenId = -1;
    }

    readonly Node _root = new();

    public AddedTokenMatcher(IEnumerable<AddedToken> tokens)
    {
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0) continue;
            var node = _root;
            foreach (char c in token.Content)
            {
                node.Children ??= new Dictionary<char, Node>();
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.TokenId = token.Id;
        }
    }

    /// <summary>Appends the segments of <paramref name="text"/> to <paramref name="output"/>, in order.</summary>
    public void Split(string text, List<Segment> output)
    {
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            int matchLength = MatchAt(text, i, out int id);
            if (matchLength == 0)
            {
                i++;
                continue;
            }
            if (i > plainStart) output.Add(new Segment(plainStart, i - plainStart, -1));
            output.Add(new Segment(i, matchLength, id));
            i += matchLength;
            plainStart = i;
        }
        if (text.Length > plainStart) output.Add(new Segment(plainStart, text.Length - plainStart, -1));
    }

    int MatchAt(string text, int start, out int id)
    {
        id = -1;
        int best = 0;
        var node = _root;
        for (int k = start; k < text.Length; k++)
        {
            if (node.Children == null || !node.Children.TryGetValue(text[k], out var next)) break;
            node = next;
            if (node.TokenId >= 0)
            {
                best = k - start + 1;
                id = node.TokenId;
            }
        }
        return best;
    }
}
