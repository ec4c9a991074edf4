namespace Molmo.Model.Kernels;

/// <summary>
/// A count fixed at JIT time: the kernels are generic over it so each count gets its own machine code, with the unused
/// registers' lines removed (<c>if (TN.N &gt; 2) …</c> is a constant there).
/// </summary>
internal interface IRowCount { static abstract int N { get; } }
internal readonly struct R1 : IRowCount { public static int N => 1; }
internal readonly struct R2 : IRowCount { public static int N => 2; }
internal readonly struct R3 : IRowCount { public static int N => 3; }
internal readonly struct R4 : IRowCount { public static int N => 4; }
internal readonly struct R5 : IRowCount { public static int N => 5; }
internal readonly struct R6 : IRowCount { public static int N => 6; }
internal readonly struct R7 : IRowCount { public static int N => 7; }
internal readonly struct R8 : IRowCount { public static int N => 8; }
