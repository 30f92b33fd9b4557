using Cluster.Abstractions;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Engine;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>
/// Captured checkpoint parts (tensors copied at the step boundary, serialised later) must write exactly the bytes the
/// synchronous path would have written at the capture, however the live model and optimizer change afterwards.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public sealed class CheckpointCaptureTests
{
    private sealed class Rig : IDisposable
    {
        public Rig(string optimizer)
        {
            torch.manual_seed(11);
            Model = nn.Sequential(("conv", nn.Conv2d(1, 4, 3)), ("bn", nn.BatchNorm2d(4)), ("relu", nn.ReLU()),
                ("flat", nn.Flatten()), ("fc", nn.Linear(4 * 4 * 4, 3)));
            Spec = new OptimizerSpec { Type = optimizer, Lr = 0.01, Momentum = optimizer is "sgd" or "rmsprop" ? 0.9 : 0 };
            Optimizer = (OptimizerHelper)OptimizerFactory.Create(Spec, Model.parameters());
            Twin = new OptimizerTwin(() => (OptimizerHelper)OptimizerFactory.Create(Spec, Model.parameters()));
        }

        public nn.Module<Tensor, Tensor> Model { get; }
        public OptimizerSpec Spec { get; }
        public OptimizerHelper Optimizer { get; }
        public OptimizerTwin Twin { get; }

        public void TrainStep(int i)
        {
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(100 + i);
            Optimizer.zero_grad();
            nn.functional.cross_entropy(Model.call(torch.randn(5, 1, 6, 6)), torch.randint(0, 3, [5])).backward();
            Optimizer.step(); // changes weights, optimizer state; forward in train mode changes BatchNorm's buffers
        }

        public void Dispose()
        {
            Twin.Dispose();
            Optimizer.Dispose();
            Model.Dispose();
        }
    }

    private static byte[] Bytes(Action<Stream> write)
    {
        using var ms = new MemoryStream();
        write(ms);
        return ms.ToArray();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    public void A_capture_writes_the_bytes_of_the_capture_moment_after_training_goes_on(string optimizer)
    {
        using var rig = new Rig(optimizer);
        for (int i = 0; i < 3; i++) rig.TrainStep(i);
        var model = new ModuleCheckpointPart(rig.Model);
        var opt = new OptimizerCheckpointPart(rig.Optimizer, twin: rig.Twin);
        byte[] modelThen = Bytes(model.Write), optThen = Bytes(opt.Write);

        using var capturedModel = model.Capture();
        using var capturedOpt = opt.Capture();
        Assert.IsNotType<SerializedPart>(capturedOpt); // copied into the twin, not serialised on the spot
        for (int i = 3; i < 6; i++) rig.TrainStep(i);

        Assert.NotEqual(modelThen, Bytes(model.Write));
        Assert.NotEqual(optThen, Bytes(opt.Write));
        Assert.Equal(modelThen, Bytes(capturedModel.Write));
        Assert.Equal(optThen, Bytes(capturedOpt.Write));
    }

    [Fact]
    public void A_model_twin_reuses_its_tensors_and_each_capture_writes_the_bytes_of_its_own_moment()
    {
        using var rig = new Rig("adam");
        using var twin = new ModuleTwin();
        var model = new ModuleCheckpointPart(rig.Model, twin: twin);
        rig.TrainStep(0);
        byte[] first = Bytes(model.Write);
        using (var captured = model.Capture())
        {
            rig.TrainStep(1);
            Assert.Equal(first, Bytes(captured.Write));
        }
        var held = twin.CopyFrom(rig.Model).Values.Select(t => t.Handle).ToArray();
        rig.TrainStep(2);
        byte[] third = Bytes(model.Write);
        using var again = model.Capture();
        rig.TrainStep(3);
        Assert.NotEqual(first, third);
        Assert.Equal(third, Bytes(again.Write));
        Assert.Equal(held, twin.CopyFrom(rig.Model).Values.Select(t => t.Handle).ToArray()); // copied in place, not reallocated

        // A model of another shape gets fresh copies of its own.
        using var other = nn.Linear(3, 2);
        var copies = twin.CopyFrom(other);
        Assert.Equal(["weight", "bias"], copies.Keys.ToArray());
        Assert.Equal(Bytes(new ModuleCheckpointPart(other).Write), Bytes(new ModuleCheckpointPart(other, twin: twin).Capture().Write));
    }

    [Fact]
    public void Sgd_before_its_first_step_has_no_momentum_buffer_and_is_serialised_at_capture()
    {
        using var rig = new Rig("sgd");
        var opt = new OptimizerCheckpointPart(rig.Optimizer, twin: rig.Twin);
        byte[] then = Bytes(opt.Write);
        using var captured = opt.Capture();
        Assert.IsType<SerializedPart>(captured);
        rig.TrainStep(0);
        Assert.NotEqual(then, Bytes(opt.Write));
        Assert.Equal(then, Bytes(captured.Write));
        // After a step the buffers exist and the twin takes over.
        using var later = opt.Capture();
        Assert.IsNotType<SerializedPart>(later);
    }

    [Fact]
    public void A_disposed_capture_refuses_to_write()
    {
        using var rig = new Rig("adam");
        var captured = new ModuleCheckpointPart(rig.Model).Capture();
        captured.Dispose();
        Assert.Throws<ObjectDisposedException>(() => captured.Write(Stream.Null));
    }

    [Fact]
    public async Task A_background_checkpoint_holds_the_state_of_its_step_and_restores_training_exactly()
    {
        using var dir = new TempDir();
        using var rig = new Rig("adam");
        for (int i = 0; i < 3; i++) rig.TrainStep(i);
        ICheckpointPart[] parts = [new ModuleCheckpointPart(rig.Model), new OptimizerCheckpointPart(rig.Optimizer, twin: rig.Twin)];
        var capture = CheckpointCapture.Take(parts);
        var write = Task.Run(() => { using (capture) return capture.WriteTo(dir.Path); });
        for (int i = 3; i < 5; i++) rig.TrainStep(i); // races the background write: it must not see these steps
        var files = await write.WaitAsync(TimeSpan.FromSeconds(60));
        var expected = rig.Model.parameters().Select(p => p.data<float>().ToArray()).ToArray();

        using var other = new Rig("adam");
        var manifest = new Cluster.Coordinator.Contracts.CheckpointManifest("t", 1, 0, 3, 1, new Cluster.Coordinator.Contracts.EpochPlan(1, 0, 15), dir.Path,
            DateTimeOffset.UnixEpoch, [new Cluster.Coordinator.Contracts.RankCheckpointFiles(0, files)]);
        CheckpointReader.Load(manifest, [new ModuleCheckpointPart(other.Model), new OptimizerCheckpointPart(other.Optimizer)]);
        for (int i = 3; i < 5; i++) other.TrainStep(i);
        Assert.Equal(expected, other.Model.parameters().Select(p => p.data<float>().ToArray()).ToArray());
    }
}
