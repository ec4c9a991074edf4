namespace Molmo.Synthetic; internal static class AssemblyMarker {}
