using Molmo.Eval.Scoring;

namespace Molmo.Eval.Runner;

/// <summary>What a finished run produced: the score and the paths of the files written to the output folder.</summary>
public sealed record EvalRunResult(
    ScoreSummary Summary,
    IReadOnlyList<ItemScore> Items,
    int Generated,
    int Resumed,
    string OutDir,
    string PredictionsPath,
    string ResultsPath,
    string SummaryPath,
    string ReportPath,
    string ChartPath);
