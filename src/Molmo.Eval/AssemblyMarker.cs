namespace Molmo.Eval; internal static class AssemblyMarker {}
