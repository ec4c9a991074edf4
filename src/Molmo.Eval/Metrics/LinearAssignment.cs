namespace Molmo.Eval.Metrics;

/// <summary>
/// Minimum-cost one-to-one assignment on a rectangular cost matrix (Hungarian method with potentials,
/// O(n²m)). With n rows and m columns it assigns min(n, m) pairs, like SciPy's <c>linear_sum_assignment</c>.
/// </summary>
public static class LinearAssignment
{
    /// <summary>Returns (row, column) pairs of an optimal assignment, sorted by row.</summary>
    public static IReadOnlyList<(int Row, int Col)> Solve(double[,] cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        int rows = cost.GetLength(0), cols = cost.GetLength(1);
        if (rows == 0 || cols == 0) return [];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                if (!double.IsFinite(cost[i, j])) throw new ArgumentException($"cost[{i},{j}] is not finite", nameof(cost));
        bool transpose = rows > cols;
        int n = transpose ? cols : rows, m = transpose ? rows : cols;
        double C(int i, int j) => transpose ? cost[j, i] : cost[i, j];

        // 1-based arrays; column 0 is a virtual column holding the row being inserted.
        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];   // p[j] = row assigned to column j
        var way = new int[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = new double[m + 1];
            var used = new bool[m + 1];
            Array.Fill(minv, double.PositiveInfinity);
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = C(i0 - 1, j - 1) - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do
            {
                int j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            } while (j0 != 0);
        }
        var pairs = new List<(int, int)>(n);
        for (int j = 1; j <= m; j++)
            if (p[j] != 0) pairs.Add(transpose ? (j - 1, p[j] - 1) : (p[j] - 1, j - 1));
        pairs.Sort();
        return pairs;
    }
}
