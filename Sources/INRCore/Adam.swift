import CMCINRKernels
import CTrainingKernels

/// Adam (Kingma & Ba) with bias correction, PyTorch's update formula. It keeps only its moment
/// estimates and step count; the parameters and gradients it updates belong to the caller
/// (a `Network`'s flat vectors, or any float array, e.g. Reptile's outer parameters).
public final class Adam {
    public struct Configuration: Equatable, Sendable, Codable {
        public var learningRate: Float
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
            self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        }
    }

    public var configuration: Configuration
    /// Current learning rate (the trainer's schedule sets it).
    public var learningRate: Float {
        get { configuration.learningRate }
        set { configuration.learningRate = newValue }
    }
    public let parameterCount: Int
    /// Number of updates taken so far (bias correction uses step + 1 for the next one).
    public private(set) var step: Int = 0
    private let m: FloatBuffer
    private let v: FloatBuffer

    public init(parameterCount: Int, configuration: Configuration) {
        self.parameterCount = parameterCount
        self.configuration = configuration
        m = FloatBuffer(count: parameterCount)
        v = FloatBuffer(count: parameterCount)
    }

    public convenience init(parameterCount: Int, learningRate: Float) {
        self.init(parameterCount: parameterCount, configuration: Configuration(learningRate: learningRate))
    }

    /// The moments and the step count: what a later run needs to go on where this one stopped
    /// (a fresh Adam's first steps move every parameter by about the learning rate).
    public struct State: Sendable {
        public var m: [Float]
        public var v: [Float]
        public var step: Int
    }

    public var state: State {
        State(m: Array(UnsafeBufferPointer(start: m.pointer, count: parameterCount)),
              v: Array(UnsafeBufferPointer(start: v.pointer, count: parameterCount)), step: step)
    }

    /// Goes on from `state` (taken from an Adam over as many parameters).
    public convenience init(parameterCount: Int, learningRate: Float, state: State) {
        precondition(state.m.count == parameterCount && state.v.count == parameterCount, "Adam: state size mismatch")
        self.init(parameterCount: parameterCount, learningRate: learningRate)
        m.pointer.update(from: state.m, count: parameterCount)
        v.pointer.update(from: state.v, count: parameterCount)
        step = state.step
    }

    /// Forgets the moments and the step count (a fresh optimiser without reallocating).
    public func reset() {
        step = 0
        m.pointer.update(repeating: 0, count: parameterCount)
        v.pointer.update(repeating: 0, count: parameterCount)
    }

    /// One update of `parameters` with `gradients` (both `parameterCount` long).
    public func update(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeBufferPointer<Float>) {
        precondition(parameters.count == parameterCount && gradients.count == parameterCount,
                     "Adam: size mismatch")
        step += 1
        mcinr_adam_update(parameters.baseAddress!, gradients.baseAddress!, m.pointer, v.pointer,
                          parameterCount, configuration.learningRate, configuration.beta1,
                          configuration.beta2, configuration.epsilon, UInt64(step))
    }

    /// One update of a network's parameters with its current gradients.
    public func update(_ network: Network) {
        update(parameters: network.parameters, gradients: UnsafeBufferPointer(network.gradients))
    }

    /// One update of a plain array (e.g. Reptile's outer step with gradient θ − mean θᵢ).
    public func update(_ parameters: inout [Float], gradients: [Float]) {
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in update(parameters: p, gradients: g) }
        }
    }
}
