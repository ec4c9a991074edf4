namespace Molmo.Data.Tests.Formats;

/// <summary>A Random whose NextDouble returns scripted values, to drive the probabilistic branches deterministically.</summary>
sealed class ScriptedRandom(params double[] doubles) : Random
{
    int _i;
    public override double NextDouble() => doubles[_i++ % doubles.Length];
    protected override double Sample() => NextDouble();
    public override int Next(int maxValue) => (int)(NextDouble() * maxValue);
}
