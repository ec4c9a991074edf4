namespace Molmo.Eval.Tests; public class SmokeTests { [Fact] public void Builds() => Assert.NotNull(typeof(Molmo.Eval.AssemblyMarker)); }
