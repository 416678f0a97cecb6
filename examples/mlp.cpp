//===- mlp.cpp - A multilayer perceptron through the C++ API --------------===//
///
/// \file
/// The same program as mlp.th: a tanh hidden layer and a softmax output
/// trained by minibatch SGD on synthetic classes (each around a mean of its
/// own), with the same random data, so it prints the same losses.
///
//===----------------------------------------------------------------------===//
#include "thjit/Array/Random.h"
#include "thjit/thjit.h"

#include <chrono>
#include <cmath>
#include <cstdio>

using namespace thjit;

namespace {

const int64_t nIn = 100, nHidden = 50, nOut = 10;
const int64_t nTrain = 2000, nTest = 1000, batchSize = 20, nEpochs = 5;
const double learningRate = 0.1, separation = 0.3;

struct Dataset {
  NDArray x, y;
};

// Draws as mlp.th does: the labels, then unit noise around each class mean.
Dataset makeData(RandomState &rng, const NDArray &means, int64_t n) {
  Dataset d;
  d.y = rng.randint(0, nOut, {n});
  d.x = rng.randn({n, nIn});
  const int64_t *y = d.y.data<int64_t>();
  const double *mu = means.data<double>();
  double *x = d.x.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < nIn; ++j)
      x[i * nIn + j] += mu[y[i] * nIn + j];
  return d;
}

double accuracy(const Function &predict, const Dataset &d) {
  NDArray pred = predict({d.x})[0];
  int64_t hits = 0;
  for (int64_t i = 0; i < d.y.size(); ++i)
    hits += pred.flatAt(i).toInt() == d.y.flatAt(i).toInt();
  return (double)hits / (double)d.y.size();
}

} // namespace

int main() {
  RandomState rng(1234);
  NDArray means = rng.randn({nOut, nIn});
  for (int64_t i = 0; i < means.size(); ++i)
    means.data<double>()[i] *= separation;
  Dataset train = makeData(rng, means, nTrain);
  Dataset test = makeData(rng, means, nTest);

  // Glorot's uniform initialization for the tanh layer, zeros for softmax.
  double bound = std::sqrt(6.0 / (double)(nIn + nHidden));
  Var W1 = shared(rng.uniform(-bound, bound, {nIn, nHidden}), "W1");
  Var b1 = shared(NDArray::zeros(DType::Float64, {nHidden}), "b1");
  Var W2 = shared(NDArray::zeros(DType::Float64, {nHidden, nOut}), "W2");
  Var b2 = shared(NDArray::zeros(DType::Float64, {nOut}), "b2");
  std::vector<Var> params = {W1, b1, W2, b2};

  Var x = matrix("x");
  Var y = vector("y", DType::Int64);
  Var hidden = tanh(dot(x, W1) + b1);
  Var pY = softmax(dot(hidden, W2) + b2);
  Var loss = mean(categoricalCrossentropy(pY, y));

  std::vector<Var> grads = grad(loss, params);
  FunctionOptions opts;
  opts.name = "train";
  for (size_t i = 0; i < params.size(); ++i)
    opts.updates.push_back({params[i], params[i] - learningRate * grads[i]});
  Function trainStep = function({x, y}, {loss}, opts);
  Function predict = function({x}, {argmax(pY, 1)});

  std::printf("MLP %lld-%lld-%lld, %lld training examples, minibatches of "
              "%lld\n",
              (long long)nIn, (long long)nHidden, (long long)nOut,
              (long long)nTrain, (long long)batchSize);
  double firstLoss = 0, meanLoss = 0;
  for (int64_t epoch = 1; epoch <= nEpochs; ++epoch) {
    auto t0 = std::chrono::steady_clock::now();
    double total = 0;
    int64_t batches = nTrain / batchSize;
    for (int64_t i = 0; i < batches; ++i) {
      int64_t lo = i * batchSize, hi = lo + batchSize;
      total += trainStep({train.x.slice(0, lo, hi, 1),
                          train.y.slice(0, lo, hi, 1)})[0]
                   .item()
                   .toDouble();
    }
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    meanLoss = total / (double)batches;
    if (epoch == 1)
      firstLoss = meanLoss;
    std::printf("epoch %lld  loss %.4f  %lld examples/s\n", (long long)epoch,
                meanLoss, (long long)((double)nTrain / dt.count()));
  }
  std::printf("loss went down: %s\n", meanLoss < firstLoss ? "True" : "False");
  std::printf("train accuracy %.3f\n", accuracy(predict, train));
  std::printf("test accuracy %.3f  (chance %.3f)\n", accuracy(predict, test),
              1.0 / (double)nOut);
  return 0;
}
