# A 2-replica PyTorch DDP job: gloo, env:// rendezvous from the operator's
# MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK, a tiny linear model, 3 epochs;
# rank 0 prints the mean loss per epoch in Katib's StdOut format.
import os

import torch
import torch.distributed as dist

torch.set_num_threads(1)
dist.init_process_group("gloo", init_method="env://")
rank, world = dist.get_rank(), dist.get_world_size()
assert rank == int(os.environ["RANK"]) and world == int(os.environ["WORLD_SIZE"]) == 2, (rank, world)

torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
g = torch.Generator().manual_seed(rank)
x = torch.randn(64, 4, generator=g)
y = x @ torch.tensor([[1.0, -2.0, 3.0, 0.5]]).T
for epoch in range(3):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    mean = loss.detach().clone()
    dist.all_reduce(mean)
    mean /= world
    if rank == 0:
        print(f"epoch={epoch} loss={mean.item():.6f}", flush=True)
dist.destroy_process_group()
