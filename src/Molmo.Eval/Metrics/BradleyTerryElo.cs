namespace Molmo.Eval.Metrics;

/// <summary>Outcome of one pairwise human-preference rating.</summary>
public enum PreferenceOutcome { AWins, BWins, Tie }

/// <summary>One rating: model <see cref="A"/> against model <see cref="B"/>.</summary>
public readonly record struct PairwiseComparison(string A, string B, PreferenceOutcome Outcome);

/// <summary>A model's Elo-scale rating with its bootstrap confidence interval.</summary>
public sealed record EloRating(string Model, double Rating, double Lower, double Upper, int Games, double Wins, double Ties);

/// <summary>Settings of the Bradley–Terry fit (defaults follow the Chatbot-Arena recipe).</summary>
public sealed record EloOptions
{
    /// <summary>Elo points per factor <see cref="Base"/> of odds (400).</summary>
    public double Scale { get; init; } = 400;
    /// <summary>Odds base (10): a rating gap of <see cref="Scale"/> means 10:1 odds.</summary>
    public double Base { get; init; } = 10;
    /// <summary>The mean rating (1000), unless <see cref="AnchorModel"/> is set.</summary>
    public double InitialRating { get; init; } = 1000;
    /// <summary>If set, all ratings are shifted so that this model gets <see cref="AnchorRating"/>.</summary>
    public string? AnchorModel { get; init; }
    public double AnchorRating { get; init; } = 1000;
    /// <summary>Bootstrap resamples for the interval (0 = no interval: bounds equal the rating).</summary>
    public int BootstrapRounds { get; init; } = 1000;
    /// <summary>Two-sided confidence level of the interval (0.95).</summary>
    public double Confidence { get; init; } = 0.95;
    public int Seed { get; init; } = 42;
    /// <summary>
    /// A tiny L2 penalty on the log-strengths. It keeps ratings finite for a model that won (or lost) every game and
    /// has no visible effect otherwise.
    /// </summary>
    public double Ridge { get; init; } = 1e-6;
}

/// <summary>
/// Maximum-likelihood Bradley–Terry ratings on the Elo scale from pairwise preferences, with bootstrap intervals.
/// P(A beats B) = 1 / (1 + Base^((R_B − R_A) / Scale)); a tie counts as half a win for each side.
/// </summary>
public static class BradleyTerryElo
{
    public static IReadOnlyList<EloRating> Fit(IReadOnlyList<PairwiseComparison> comparisons, EloOptions? options = null)
    {
        options ??= new EloOptions();
        ArgumentNullException.ThrowIfNull(comparisons);
        if (comparisons.Count == 0) throw new ArgumentException("no comparisons to fit ratings on");
        if (options.Confidence is <= 0 or >= 1) throw new ArgumentException($"confidence must be in (0, 1), got {options.Confidence}");
        if (options.BootstrapRounds < 0) throw new ArgumentException($"bootstrap rounds must be ≥ 0, got {options.BootstrapRounds}");

        var names = comparisons.SelectMany(c => new[] { c.A, c.B }).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        if (options.AnchorModel != null && !index.ContainsKey(options.AnchorModel))
            throw new ArgumentException($"anchor model '{options.AnchorModel}' does not appear in the comparisons");
        int m = names.Count;

        // Each comparison → a category (a, b, outcome); the fit only needs category counts.
        var rowCategory = new int[comparisons.Count];
        var catA = new List<int>(); var catB = new List<int>(); var catO = new List<PreferenceOutcome>();
        var catIndex = new Dictionary<(int, int, PreferenceOutcome), int>();
        for (int r = 0; r < comparisons.Count; r++)
        {
            var c = comparisons[r];
            if (string.Equals(c.A, c.B, StringComparison.Ordinal))
                throw new ArgumentException($"comparison {r + 1} pits model '{c.A}' against itself");
            var key = (index[c.A], index[c.B], c.Outcome);
            if (!catIndex.TryGetValue(key, out var k))
            {
                k = catIndex.Count; catIndex[key] = k;
                catA.Add(key.Item1); catB.Add(key.Item2); catO.Add(c.Outcome);
            }
            rowCategory[r] = k;
        }
        var fullCounts = new double[catIndex.Count];
        foreach (var k in rowCategory) fullCounts[k]++;

        var beta = FitStrengths(m, catA, catB, catO, fullCounts, null, options.Ridge);
        var ratings = ToElo(beta, index, options);

        var lower = (double[])ratings.Clone();
        var upper = (double[])ratings.Clone();
        if (options.BootstrapRounds > 0)
        {
            var samples = new double[m][];
            for (int i = 0; i < m; i++) samples[i] = new double[options.BootstrapRounds];
            var rng = new Random(options.Seed);
            var counts = new double[fullCounts.Length];
            for (int b = 0; b < options.BootstrapRounds; b++)
            {
                Array.Clear(counts);
                for (int r = 0; r < rowCategory.Length; r++) counts[rowCategory[rng.Next(rowCategory.Length)]]++;
                var bb = FitStrengths(m, catA, catB, catO, counts, beta, options.Ridge);
                var e = ToElo(bb, index, options);
                for (int i = 0; i < m; i++) samples[i][b] = e[i];
            }
            double alpha = (1 - options.Confidence) / 2;
            for (int i = 0; i < m; i++)
            {
                Array.Sort(samples[i]);
                lower[i] = Quantile(samples[i], alpha);
                upper[i] = Quantile(samples[i], 1 - alpha);
            }
        }

        var games = new int[m]; var wins = new double[m]; var ties = new double[m];
        foreach (var c in comparisons)
        {
            int a = index[c.A], b = index[c.B];
            games[a]++; games[b]++;
            if (c.Outcome == PreferenceOutcome.AWins) wins[a]++;
            else if (c.Outcome == PreferenceOutcome.BWins) wins[b]++;
            else { ties[a]++; ties[b]++; }
        }
        return Enumerable.Range(0, m)
            .Select(i => new EloRating(names[i], ratings[i], lower[i], upper[i], games[i], wins[i], ties[i]))
            .OrderByDescending(r => r.Rating).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();
    }

    /// <summary>Probability that a model rated <paramref name="ra"/> beats one rated <paramref name="rb"/>.</summary>
    public static double ExpectedScore(double ra, double rb, EloOptions? options = null)
    {
        options ??= new EloOptions();
        return 1.0 / (1.0 + Math.Pow(options.Base, (rb - ra) / options.Scale));
    }

    static double[] ToElo(double[] beta, Dictionary<string, int> index, EloOptions o)
    {
        double f = o.Scale / Math.Log(o.Base);
        var e = beta.Select(b => o.InitialRating + f * b).ToArray();
        if (o.AnchorModel != null)
        {
            double shift = o.AnchorRating - e[index[o.AnchorModel]];
            for (int i = 0; i < e.Length; i++) e[i] += shift;
        }
        return e;
    }

    /// <summary>numpy's default (linear) quantile of sorted data.</summary>
    static double Quantile(double[] sorted, double q)
    {
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>
    /// Newton's method on the penalised negative log-likelihood in natural-log strengths β:
    /// −Σ w_ij log σ(β_i − β_j) + ridge/2 ‖β‖², with w_ij = wins of i over j + ties / 2.
    /// </summary>
    static double[] FitStrengths(int m, List<int> catA, List<int> catB, List<PreferenceOutcome> catO, double[] counts,
        double[]? start, double ridge)
    {
        var w = new double[m, m];
        for (int k = 0; k < counts.Length; k++)
        {
            if (counts[k] == 0) continue;
            int a = catA[k], b = catB[k];
            switch (catO[k])
            {
                case PreferenceOutcome.AWins: w[a, b] += counts[k]; break;
                case PreferenceOutcome.BWins: w[b, a] += counts[k]; break;
                default: w[a, b] += counts[k] / 2; w[b, a] += counts[k] / 2; break;
            }
        }
        var beta = start != null ? (double[])start.Clone() : new double[m];
        double obj = Objective(w, beta, ridge);
        for (int iter = 0; iter < 200; iter++)
        {
            var g = new double[m];
            var h = new double[m, m];
            for (int i = 0; i < m; i++)
            {
                g[i] += ridge * beta[i];
                h[i, i] += ridge;
                for (int j = i + 1; j < m; j++)
                {
                    double n = w[i, j] + w[j, i];
                    if (n == 0) continue;
                    double s = Sigmoid(beta[i] - beta[j]);
                    double gi = n * s - w[i, j]; // d(−L)/dβ_i from this pair
                    g[i] += gi; g[j] -= gi;
                    double c = n * s * (1 - s);
                    h[i, i] += c; h[j, j] += c; h[i, j] -= c; h[j, i] -= c;
                }
            }
            var step = Solve(h, g);
            double t = 1, newObj;
            double[] next;
            do
            {
                next = new double[m];
                for (int i = 0; i < m; i++) next[i] = beta[i] - t * step[i];
                newObj = Objective(w, next, ridge);
                t /= 2;
            } while (newObj > obj + 1e-12 && t > 1e-10);
            double maxStep = step.Max(Math.Abs) * t * 2;
            beta = next;
            bool done = Math.Abs(obj - newObj) < 1e-13 * Math.Max(1, Math.Abs(obj)) || maxStep < 1e-10;
            obj = newObj;
            if (done) break;
        }
        return beta;
    }

    static double Objective(double[,] w, double[] beta, double ridge)
    {
        int m = beta.Length;
        double f = 0;
        for (int i = 0; i < m; i++)
        {
            f += ridge / 2 * beta[i] * beta[i];
            for (int j = 0; j < m; j++)
                if (w[i, j] != 0) f += w[i, j] * LogOnePlusExp(beta[j] - beta[i]); // −log σ(βi − βj)
        }
        return f;
    }

    static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
    static double LogOnePlusExp(double x) => x > 30 ? x : Math.Log(1 + Math.Exp(x));

    /// <summary>Gaussian elimination with partial pivoting (the matrix is symmetric positive definite thanks to the ridge).</summary>
    static double[] Solve(double[,] a0, double[] b0)
    {
        int n = b0.Length;
        var a = (double[,])a0.Clone();
        var b = (double[])b0.Clone();
        for (int col = 0; col < n; col++)
        {
            int piv = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(a[r, col]) > Math.Abs(a[piv, col])) piv = r;
            if (piv != col)
            {
                for (int c = 0; c < n; c++) (a[col, c], a[piv, c]) = (a[piv, c], a[col, c]);
                (b[col], b[piv]) = (b[piv], b[col]);
            }
            double d = a[col, col];
            if (d == 0) continue;
            for (int r = col + 1; r < n; r++)
            {
                double f = a[r, col] / d;
                if (f == 0) continue;
                for (int c = col; c < n; c++) a[r, c] -= f * a[col, c];
                b[r] -= f * b[col];
            }
        }
        var x = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = b[r];
            for (int c = r + 1; c < n; c++) s -= a[r, c] * x[c];
            x[r] = a[r, r] == 0 ? 0 : s / a[r, r];
        }
        return x;
    }
}
