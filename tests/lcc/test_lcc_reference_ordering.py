"""What the authors' released LCC code does with its two orders, emulated on separable blobs.

``altaris/lcc`` at commit 2550020 (read, not copied) builds one clustering step from batch
files written during a pass over the training set (one file per batch, named by a random
UUID, each holding the batch's latents and its sample ids ``_idx``):

- labels are brought into the order in which ``Path.glob`` lists the latent files
  (``lcc/classifiers/fdlc.py`` lines 169-171: ``_y_true = y_true[idx]``), i.e. position
  ``p`` holds sample id ``sigma(p)``;
- the Louvain clusters are indexed by sample id (``lcc/correction/knn.py`` lines 113-137
  make the graph's nodes the ``_idx`` values; ``lcc/correction/louvain.py`` lines 70-73);
- the matching (``fdlc.py`` line 196) and the banks (``lcc/correction/loss/exact.py``
  lines 156-159: ``y_clst[n_seen : n_seen + len(z)]`` beside latents in file order) pair
  position ``p``'s label and latent with sample ``p``'s cluster;
- during training the masks use the right clusters (``lcc/classifiers/base.py`` lines
  159-162: ``y_clst[idx]``).

Unless the file system lists the files in the order they were written, this is exactly
our ``matching="shuffled"`` ablation with the permutation ``pi = sigma^-1``: the matching
and the banks see ``c'_j = c_{sigma^-1(j)}``, the masks see ``c``.
"""

import numpy as np
import pytest
import torch

from latentalign.lcc import cluster_latents
from latentalign.lcc import state as lcc_state
from latentalign.lcc.matching import cluster_masks, contingency, match_clusters

N_CLASSES, PER_CLASS, BATCH = 10, 100, 8


@pytest.fixture(scope="module")
def blobs():
    """Ten well separated classes, sample ids in random class order (as in CIFAR's train split)."""
    g = torch.Generator().manual_seed(0)
    centres = 20 * torch.randn(N_CLASSES, 8, generator=g)
    y = torch.arange(N_CLASSES).repeat_interleave(PER_CLASS)[torch.randperm(N_CLASSES * PER_CLASS, generator=g)]
    Z = centres[y] + torch.randn(y.shape[0], 8, generator=g)
    aligned = cluster_latents(Z, y, N_CLASSES, k=5, seed=0)
    return Z, y.numpy(), aligned


def file_order(n: int, batch: int, seed: int) -> np.ndarray:
    """``sigma``: position -> sample id when an unshuffled loader's batch files are listed in random order."""
    blocks = np.array_split(np.arange(n), np.arange(batch, n, batch))
    order = np.random.default_rng(seed).permutation(len(blocks))
    return np.concatenate([blocks[b] for b in order])


def authors_step(Z, y, c, sigma):
    """The reference pipeline's matching, banks (as sets of sample ids) and training-time masks."""
    y_pos = y[sigma]  # labels in file order
    m = match_clusters(contingency(y_pos, c, N_CLASSES, int(c.max()) + 1))  # position p's label with sample p's cluster
    banks: dict[int, set[int]] = {}
    for p in range(len(sigma)):  # exact.py: latent at position p goes to the bank of cluster c[p]
        if m[c[p]] == y_pos[p]:
            banks.setdefault(int(c[p]), set()).add(int(sigma[p]))
    return m, banks, cluster_masks(y, c, m, N_CLASSES)


def bank_ids(state, Z) -> dict[int, set[int]]:
    """Our banks as sets of sample ids (each bank row is one latent row of ``Z``)."""
    return {b: {int(torch.nonzero((Z == row).all(1))[0, 0]) for row in bank} for b, bank in state.banks.items()}


def test_the_authors_pairing_is_our_shuffled_ablation(blobs, monkeypatch):
    Z, y, aligned = blobs
    c = aligned.communities.numpy()
    sigma = file_order(len(y), BATCH, seed=1)
    m, banks, masks = authors_step(Z, y, c, sigma)
    sigma_inv = np.argsort(sigma)
    monkeypatch.setattr(lcc_state, "shuffle_communities", lambda comm, seed: np.asarray(comm)[sigma_inv])
    ours = cluster_latents(Z, torch.from_numpy(y), N_CLASSES, k=5, seed=0, matching="shuffled")
    assert np.array_equal(ours.communities.numpy(), c)  # same graph and Louvain partition
    assert np.array_equal(ours.matching.numpy(), m)
    assert np.array_equal(ours.mc.numpy(), masks.mc)
    assert bank_ids(ours, Z) == banks


def test_the_misordering_leaves_most_separable_samples_misclustered(blobs):
    Z, y, aligned = blobs
    c = aligned.communities.numpy()
    assert aligned.metrics["cc_share"] == 1.0  # separable: the aligned step finds nothing to correct
    _, banks_in_order, in_order = authors_step(Z, y, c, np.arange(len(y)))  # files listed as written
    assert not in_order.mc.any()
    mc_shares, own_shares = [], []
    for seed in range(5):  # five file orders
        _, banks, masks = authors_step(Z, y, c, file_order(len(y), BATCH, seed))
        mc_shares.append(masks.mc.mean())
        # a bank holds latents of its matched class from anywhere: their own cluster is the bank's near chance
        own_shares.append(np.mean([c[j] == b for b, ids in banks.items() for j in ids]))
    # chance: 1 - 1/10 = 0.9 misclustered, 0.1 own-cluster members (10 clusters make the argmax noisy)
    assert min(mc_shares) >= 0.6 and np.mean(mc_shares) > 0.7
    assert max(own_shares) < 0.5 and np.mean(own_shares) < 0.3
    own_in_order = np.mean([c[j] == b for b, ids in banks_in_order.items() for j in ids])
    assert own_in_order == 1.0
