import MeshIO

extension TrainingData {
    /// The training data of a MeshIO dataset's point variables (select variables first with
    /// `Dataset.selectingVariables`). Values are re-laid out time-major, point-major.
    public init(dataset: Dataset) {
        var copy = dataset
        self.init(draining: &copy)
    }

    /// The same, emptying `dataset`'s point variables step by step as they are copied, so that
    /// the fields are held once (plus one step), not twice. The mesh and times stay.
    public init(draining dataset: inout Dataset) {
        let n = dataset.pointCount, c = dataset.componentCount, steps = dataset.stepCount
        let variables = dataset.variables.map { Variable(name: $0.name, components: $0.components) }
        // Step by step, every variable of a step then the next step: the new array's pages are
        // first touched (no zero fill) as the old step is released, so the two never coexist.
        let values = [Float](unsafeUninitializedCapacity: steps * n * c) { destination, done in
            for step in 0 ..< steps {
                var first = 0
                for v in dataset.variables.indices {
                    let k = dataset.variables[v].components
                    let stepValues = dataset.variables[v].values[step]
                    dataset.variables[v].values[step] = []
                    stepValues.withUnsafeBufferPointer { source in
                        for p in 0 ..< n {
                            let base = (step * n + p) * c + first
                            for j in 0 ..< k { destination[base + j] = source[p * k + j] }
                        }
                    }
                    first += k
                }
            }
            done = steps * n * c
        }
        self.init(variables: variables,
                  points: dataset.mesh.points, times: dataset.times, values: values,
                  cellCount: dataset.cellCount)
    }
}
