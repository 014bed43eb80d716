import MeshIO

extension TrainingData {
    /// The training data of a MeshIO dataset's point variables (select variables first with
    /// `Dataset.selectingVariables`). Values are re-laid out time-major, point-major.
    public init(dataset: Dataset) {
        let n = dataset.pointCount, c = dataset.componentCount
        var values = [Float](repeating: 0, count: dataset.stepCount * n * c)
        var first = 0
        for variable in dataset.variables {
            let k = variable.components
            for (step, stepValues) in variable.values.enumerated() {
                stepValues.withUnsafeBufferPointer { source in
                    values.withUnsafeMutableBufferPointer { destination in
                        for p in 0 ..< n {
                            let base = (step * n + p) * c + first
                            for j in 0 ..< k { destination[base + j] = source[p * k + j] }
                        }
                    }
                }
            }
            first += k
        }
        self.init(variables: dataset.variables.map { Variable(name: $0.name, components: $0.components) },
                  points: dataset.mesh.points, times: dataset.times, values: values,
                  cellCount: dataset.cellCount)
    }
}
