import ArgumentParser
import MCINR

struct MCINRTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcinr-vtk",
        abstract: "Encode unstructured simulation data as a compact MC-INR model (.mci) and decode it back.",
        discussion: """
        Typical use:
          mcinr-vtk train run/flow.pvd -o flow.mci       # encode a .pvd time series
          mcinr-vtk info flow.mci                        # what the model holds
          mcinr-vtk eval flow.mci --ground-truth run/flow.pvd
          mcinr-vtk export flow.mci --vtu out/ --ground-truth run/flow.pvd

        The .mci file also opens directly in ParaView with the bundled reader plugin (see plugin/README.md).
        """,
        version: MCINRVersion.string,
        subcommands: [Train.self, Export.self, Eval.self, Info.self])
}
